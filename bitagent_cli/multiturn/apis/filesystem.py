"""GorillaFileSystem: an in-memory directory tree with a current directory and shell-like commands.

Written for bitagent from BFCL's function document (``gorilla_file_system.json``) and the behaviour of BFCL's
class as observed by running it: the same return values and error texts, the same quirks (``pwd`` names the
root folder; a moved folder keeps its children's links to where they came from; a copied folder shares its
children with the original), so that a conversation reads and scores as under BFCL.

State compared by the checker: ``root`` (the tree: folder and file names, file contents) and ``long_context``.
The current directory is private, as in BFCL.
"""

from __future__ import annotations

from typing import Any

from ._base import LimitError, SimulatedAPI, long_context_data

__all__ = ["Directory", "File", "GorillaFileSystem"]

#: Characters a new file or folder name may not contain.
_BAD_NAME_CHARS = '|/\\?%*:"><'
#: Folders deeper than this are not walked (``find``/``du``): a folder copied into itself would loop forever.
MAX_WALK_DEPTH = 256
#: Most entries (files and folders) one file system may create, and the longest file content. A folder
#: copy shares its children with the original (BFCL's behaviour), so it is charged every entry it holds:
#: counted through the shared subtrees, the tree never holds more than this (copies of copies used to make
#: a 130k-path tree out of ~50 counted entries). The entries walked and the characters of the results are
#: the session's budget (:mod:`..limits`).
MAX_NODES = 20_000
MAX_CONTENT_CHARS = 1_000_000
#: A walk charges one unit an entry plus one per this many characters of the entry's name (``find``
#: compares it) or, for ``du``, of a file's content (it is measured): long names cost what they cost.
_CHARS_PER_UNIT = 1024


class File:
    """A file: a name and text content. Equal when name and content are."""

    __slots__ = ("content", "name")

    def __init__(self, name: str, content: str = "") -> None:
        self.name = name
        self.content = content

    def __eq__(self, other: object) -> bool:
        return isinstance(other, File) and (self.name, self.content) == (other.name, other.content)

    def __repr__(self) -> str:
        return f"File({self.name!r}, {str(self.content)[:40]!r})"


class Directory:
    """A folder: a name, a parent link and named entries (insertion-ordered). Equal when name and entries are."""

    __slots__ = ("contents", "name", "parent")

    def __init__(self, name: str, parent: Directory | None = None) -> None:
        self.name = name
        self.parent = parent
        self.contents: dict[str, File | Directory] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Directory) and self.name == other.name and self.contents == other.contents

    def __repr__(self) -> str:
        return f"Directory({self.name!r}, {list(self.contents)})"

    def new_file(self, name: str, content: str = "") -> None:
        if name in self.contents:
            raise ValueError(f"File '{name}' already exists in directory '{self.name}'.")
        self.contents[name] = File(name, content)

    def new_directory(self, name: str) -> Directory:
        if name in self.contents:
            raise ValueError(f"Directory '{name}' already exists in directory '{self.name}'.")
        d = Directory(name, self)
        self.contents[name] = d
        return d

    def entry(self, name: str) -> File | Directory | None:
        return self if name == "." else self.contents.get(name)


def _file(node: Any) -> File | None:
    return node if isinstance(node, File) else None


class GorillaFileSystem(SimulatedAPI):
    """See the module docs."""

    def __init__(self) -> None:
        self.root: Directory = Directory("/", None)
        self._current_dir: Directory = self.root
        self._nodes = 0

    # ------------------------------------------------------------------ loading
    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        self.long_context = long_context
        self.root = Directory("/", None)
        tree = scenario.get("root")
        if tree:
            ((root_name, root_spec),) = list(tree.items())[:1]
            self.root = Directory(root_name, None)
            self._fill(self.root, root_spec["contents"])
        self._current_dir = self.root

    def _fill(self, folder: Directory, spec: dict) -> None:
        lc = long_context_data() if self.long_context else None
        has_subfolder = False
        for name, item in spec.items():
            if item["type"] == "directory":
                has_subfolder = True
                child = Directory(name, folder)
                self._fill(child, item["contents"])
                folder.contents[name] = child
            elif item["type"] == "file":
                text = item["content"]
                if lc is not None and name not in lc["FILES_TAIL_USED"]:
                    text += lc["FILE_CONTENT_EXTENSION"]
                folder.contents[name] = File(name, text)
        if lc is not None and not has_subfolder:
            for name in lc["POPULATE_FILE_EXTENSION"]:
                folder.new_file(name)

    # ------------------------------------------------------------------ helpers
    def _grow(self, n: int = 1) -> None:
        if self._nodes + n > MAX_NODES:
            raise LimitError(f"the file system is full ({MAX_NODES} entries created)")
        self._nodes += n

    @staticmethod
    def _valid_name(name: str) -> bool:
        return not any(c in name for c in _BAD_NAME_CHARS)

    def _resolve(self, path: str | None) -> Directory | dict:
        if path is None or path == ".":
            return self._current_dir
        if path == "/":
            return self.root
        parts = path.strip("/").split("/")
        node = self.root if path.startswith("/") else self._current_dir
        for part in parts:
            nxt = node.entry(part)
            if not isinstance(nxt, Directory):
                return {"error": f"cd: '{path}': No such file or directory"}
            node = nxt
        return node

    def _here(self, name: str) -> File | Directory | None:
        return self._current_dir.entry(name) if name in self._current_dir.contents else None

    # ------------------------------------------------------------------ commands
    def pwd(self) -> dict[str, str]:
        names = []
        node: Directory | None = self._current_dir
        while node is not None:  # BFCL's loop stops only past the root, so the root's own name is included
            names.append(node.name)
            node = node.parent
        return {"current_working_directory": "/" + "/".join(reversed(names))}

    def ls(self, a: bool = False):
        budget = self._costs()
        names = []
        size = 0
        for n in self._current_dir.contents:
            budget.walk()
            if a or not n.startswith("."):
                size += len(n) + 4  # the JSON text: quotes and a separator
                budget.result(size)
                names.append(n)
        return {"current_directory_content": names}

    def cd(self, folder: str):
        folder = folder.rstrip("/") or "/"
        if folder not in (".", "..", "/") and "/" in folder:
            return {"error": f"cd: {folder}: Unsupported path. Only one folder level at a time is supported."}
        if folder == "..":
            up = self._current_dir.parent
            if up is not None:
                self._current_dir = up
                return {}
            if self.root == self._current_dir:
                return {"error": "Current directory is already the root. Cannot go back."}
            return {"error": "cd: ..: No such directory"}
        target = self._resolve(folder)
        if isinstance(target, dict):
            return target
        self._current_dir = target
        return {"current_working_directory": target.name}

    def mkdir(self, dir_name: str):
        if not self._valid_name(dir_name):
            return {"error": f"mkdir: cannot create directory '{dir_name}': Invalid character"}
        if dir_name in self._current_dir.contents:
            return {"error": f"mkdir: cannot create directory '{dir_name}': File exists"}
        self._grow()
        self._current_dir.new_directory(dir_name)
        return None

    def touch(self, file_name: str):
        if not self._valid_name(file_name):
            return {"error": f"touch: cannot touch '{file_name}': Invalid character"}
        if file_name in self._current_dir.contents:
            return {"error": f"touch: cannot touch '{file_name}': File exists"}
        self._grow()
        self._current_dir.new_file(file_name)
        return None

    def echo(self, content: str, file_name: str | None = None):
        if file_name is None:
            return {"terminal_output": content}
        if not self._valid_name(file_name):
            return {"error": f"echo: cannot write to '{file_name}': Invalid character"}
        if not file_name:
            return {"terminal_output": content}
        if file_name not in self._current_dir.contents:
            return {"error": f"echo: cannot write to '{file_name}': No such file"}
        target = self._current_dir.entry(file_name)
        if not isinstance(target, File):
            raise AttributeError(f"'{type(target).__name__}' object has no attribute '_write'")
        if isinstance(content, str) and len(content) > MAX_CONTENT_CHARS:
            raise LimitError(f"content longer than {MAX_CONTENT_CHARS} characters")
        target.content = content
        return None

    def cat(self, file_name: str):
        if not self._valid_name(file_name):
            return {"error": f"cat: '{file_name}': Invalid character"}
        if file_name not in self._current_dir.contents:
            return {"error": f"cat: '{file_name}': No such file or directory"}
        node = self._current_dir.entry(file_name)
        if isinstance(node, File):
            return {"file_content": node.content}
        return {"error": f"cat: '{file_name}': Is a directory"}

    def find(self, path: str = ".", name: str | None = None):
        start = self._resolve(path)
        if isinstance(start, dict):
            msg = start.get("error", "")
            return {"error": "find:" + msg[3:]} if msg.startswith("cd:") else start
        budget = self._costs()
        found: list[str] = []
        size = 0
        # an explicit stack of iterators (depth-first, entries in order) instead of recursion; a path is built
        # only when it matches, after its length is charged to the result (the folders' names are stacked)
        out_iter = [iter(start.contents.items())]
        names = [path.rstrip("/")]
        lengths = [len(names[0])]
        while out_iter:
            try:
                entry_name, node = next(out_iter[-1])
            except StopIteration:
                out_iter.pop()
                names.pop()
                lengths.pop()
                continue
            budget.walk(1 + len(entry_name) // _CHARS_PER_UNIT)
            length = lengths[-1] + 1 + len(entry_name)
            if name is None or name in entry_name:
                size += length + 4  # the JSON text: quotes and a separator
                budget.result(size)
                found.append("/".join(names) + "/" + entry_name)
            if isinstance(node, Directory):
                if len(out_iter) >= MAX_WALK_DEPTH:
                    raise RecursionError("maximum recursion depth exceeded")
                out_iter.append(iter(node.contents.items()))
                names.append(entry_name)
                lengths.append(length)
        return {"matches": found}

    def wc(self, file_name: str, mode: str = "l"):
        if mode not in ("l", "w", "c"):
            return {"error": f"wc: invalid mode '{mode}'"}
        f = _file(self._here(file_name))
        if f is None:
            return {"error": f"wc: {file_name}: No such file or directory"}
        if mode == "l":
            return {"count": len(f.content.splitlines()), "type": "lines"}
        if mode == "w":
            return {"count": len(f.content.split()), "type": "words"}
        return {"count": len(f.content), "type": "characters"}

    def sort(self, file_name: str):
        f = _file(self._here(file_name))
        if f is None:
            return {"error": f"sort: {file_name}: No such file or directory"}
        return {"sorted_content": "\n".join(sorted(f.content.splitlines()))}

    def grep(self, file_name: str, pattern: str):
        f = _file(self._here(file_name))
        if f is None:
            return {"error": f"grep: {file_name}: No such file or directory"}
        return {"matching_lines": [ln for ln in f.content.splitlines() if pattern in ln]}

    def du(self, human_readable: bool = False):
        budget = self._costs()
        total = 0
        stack: list[tuple[File | Directory, int]] = [(self._current_dir, 0)]
        while stack:
            node, depth = stack.pop()
            if isinstance(node, File):
                content = node.content  # (a non-string content fails on .encode below, as under BFCL)
                budget.walk(1 + (len(content) if isinstance(content, str) else 0) // _CHARS_PER_UNIT)
                total += len(node.content.encode("utf-8"))
            elif isinstance(node, Directory):
                budget.walk()
                if depth >= MAX_WALK_DEPTH:
                    raise RecursionError("maximum recursion depth exceeded")
                stack.extend((c, depth + 1) for c in node.contents.values())
        if not human_readable:
            return {"disk_usage": f"{total} bytes"}
        size: float = total
        for unit in ("B", "KB", "MB", "GB", "TB"):
            if size < 1024:
                return {"disk_usage": f"{size:.2f} {unit}"}
            size /= 1024
        return {"disk_usage": f"{size:.2f} PB"}

    def tail(self, file_name: str, lines: int = 10):
        f = _file(self._here(file_name))
        if f is None:
            return {"error": f"tail: {file_name}: No such file or directory"}
        all_lines = f.content.splitlines()
        if lines > len(all_lines):
            lines = len(all_lines)
        return {"last_lines": "\n".join(all_lines[-lines:])}

    def diff(self, file_name1: str, file_name2: str):
        here = self._current_dir.contents
        a = b = None
        if file_name1 in here and file_name2 in here:  # in this order: BFCL looks at the second name only then
            a, b = _file(here[file_name1]), _file(here[file_name2])
        if a is None or b is None:
            return {"error": f"diff: {file_name1} or {file_name2}: No such file or directory"}
        changed = [
            f"- {x}\n+ {y}" for x, y in zip(a.content.splitlines(), b.content.splitlines(), strict=False) if x != y
        ]
        return {"diff_lines": "\n".join(changed)}

    def _transfer(self, verb: str, source: str, destination: str, keep: bool):
        here = self._current_dir
        if source not in here.contents:
            return {"error": f"{verb}: cannot {'copy' if keep else 'move'} '{source}': No such file or directory"}
        item = here.entry(source)
        if item is None:  # not reached: source is in here.contents
            return {"error": f"{verb}: cannot {'copy' if keep else 'move'} '{source}': No such file or directory"}
        if "/" in destination:
            return {"error": f"{verb}: path not allowed in destination. Provide only a file or directory name."}
        done = "copied" if keep else "moved"
        if destination in here.contents:
            into = here.entry(destination)
            if not isinstance(into, Directory):
                return {
                    "error": f"{verb}: cannot {'copy' if keep else 'move'} '{source}' to '{destination}': "
                    "Not a directory"
                }
            if not keep and source in into.contents:
                return {"error": f"mv: cannot move '{source}' to '{destination}/{source}': File exists"}
            if not keep:
                here.contents.pop(source)
            self._place(into, source, item, keep)
            return {"result": f"'{source}' {done} to '{destination}/{source}'"}
        if not keep:
            here.contents.pop(source)
        self._place(here, destination, item, keep)
        return {"result": f"'{source}' {done} to '{destination}'"}

    def _entries_below(self, folder: Directory) -> int:
        """How many entries ``folder`` really holds, counted through shared subtrees (walk charged to the
        budget); past what the file system may still create (or too deep to walk), LimitError."""
        room = MAX_NODES - self._nodes
        budget = self._costs()
        count = 0
        stack: list[tuple[Directory, int]] = [(folder, 0)]
        while stack:
            node, depth = stack.pop()
            for child in node.contents.values():
                budget.walk()
                count += 1
                if count > room:
                    raise LimitError(f"the file system is full ({MAX_NODES} entries created)")
                if isinstance(child, Directory):
                    if depth + 1 >= MAX_WALK_DEPTH:
                        raise LimitError("the folder is nested too deeply to copy")
                    stack.append((child, depth + 1))
        return count

    def _place(self, folder: Directory, name: str, item: File | Directory, copy: bool) -> None:
        # a copied folder shares its children (below), so it is charged every entry it holds; a move creates
        # nothing (and must not fail: its source is already taken out of its folder)
        if copy:
            self._grow(1 + (self._entries_below(item) if isinstance(item, Directory) else 0))
        if isinstance(item, File):
            folder.new_file(name, item.content)
        else:
            # BFCL's behaviour: the new folder takes the old one's entries (a move: the same mapping; a copy:
            # a shallow copy, so both folders hold the very same child objects)
            new = folder.new_directory(name)
            new.contents = dict(item.contents) if copy else item.contents

    def mv(self, source: str, destination: str):
        return self._transfer("mv", source, destination, keep=False)

    def cp(self, source: str, destination: str):
        return self._transfer("cp", source, destination, keep=True)

    def rm(self, file_name: str):
        if file_name not in self._current_dir.contents:
            return {"error": f"rm: cannot remove '{file_name}': No such file or directory"}
        self._current_dir.contents.pop(file_name)
        return {"result": f"'{file_name}' removed"}

    def rmdir(self, dir_name: str):
        if dir_name not in self._current_dir.contents:
            return {"error": f"rmdir: cannot remove '{dir_name}': No such file or directory"}
        node = self._current_dir.entry(dir_name)
        if not isinstance(node, Directory):
            return {"error": f"rmdir: cannot remove '{dir_name}': Not a directory"}
        if node.contents:
            return {"error": f"rmdir: cannot remove '{dir_name}': Directory not empty"}
        self._current_dir.contents.pop(dir_name)
        return {"result": f"'{dir_name}' removed"}
