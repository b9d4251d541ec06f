"""Model vetting: hub models through a fake HfApi (no network) and local directories, hostile ones included."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest

from bitagent_cli.serving.vetting import (
    REFUSED_WEIGHT_SUFFIXES,
    ModelRefused,
    ModelUnavailable,
    download_model,
    local_fingerprint,
    parse_ref,
    read_safetensors_header,
    remote_fingerprint,
    vet_model,
    weights_fingerprint,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


# ---------------------------------------------------------------- helpers
def write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int]]], *, sparse: bool = False) -> None:
    """A valid safetensors file with zero data (sparse: the data region is a hole, no disk used)."""
    width = {"F32": 4, "BF16": 2, "F16": 2}
    header, off = {}, 0
    for name, (dtype, shape) in tensors.items():
        n = width[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}
        off += n
    raw = json.dumps(header).encode()
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        if sparse:
            f.truncate(8 + len(raw) + off)
        else:
            f.write(b"\0" * off)


def make_dir(root: Path, name: str = "m", *, config: dict | None = None, params: int = 1000) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(config if config is not None else {"model_type": "llama"}))
    (d / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ messages }}"}))
    write_safetensors(d / "model.safetensors", {"w": ("F32", [params])})
    return d


def sib(name: str, size: int = 100, lfs: bool = False, sha256: str | None = None):
    """A repo sibling as model_info(files_metadata=True) gives it (lfs: size and sha256 of the content)."""
    sha256 = sha256 or hashlib.sha256(name.encode()).hexdigest()
    return SimpleNamespace(
        rfilename=name,
        size=None if lfs else size,
        lfs=SimpleNamespace(size=size, sha256=sha256, pointer_size=130) if lfs else None,
    )


def sibs_of(src: Path) -> list:
    """The siblings of a "hub repo" mirroring the files of ``src`` (weights in LFS, with their real sha256)."""
    out = []
    for p in sorted(src.rglob("*")):
        if p.is_file():
            rel = p.relative_to(src).as_posix()
            lfs = rel.endswith(".safetensors")
            out.append(
                sib(rel, p.stat().st_size, lfs=lfs, sha256=hashlib.sha256(p.read_bytes()).hexdigest() if lfs else None)
            )
    return out


class RepositoryNotFoundError(Exception):
    pass


class GatedRepoError(Exception):
    pass


class FakeApi:
    """model_info / snapshot_download / hf_hub_download over a dict of repos (and optional source dirs)."""

    def __init__(self, **info):
        self.info = {
            "sha": SHA,
            "siblings": [
                sib("config.json"),
                sib("tokenizer.json", 2000),
                sib("model.safetensors", 16_000_000_000, lfs=True),
                sib("README.md"),
                sib(".gitattributes"),
            ],
            "safetensors": SimpleNamespace(total=7_240_000_000, parameters={"BF16": 7_240_000_000}),
            "card_data": SimpleNamespace(license="apache-2.0"),
            "tags": ["license:apache-2.0"],
            "config": {"model_type": "mistral", "architectures": ["MistralForCausalLM"]},
        }
        self.info.update(info)
        self.calls: list = []
        self.source: Path | None = None
        self.raise_exc: Exception | None = None

    def model_info(self, repo_id, revision=None, files_metadata=False):
        self.calls.append(("model_info", repo_id, revision, files_metadata))
        if self.raise_exc:
            raise self.raise_exc
        return SimpleNamespace(**self.info)

    def _fetch(self, cache_dir, revision, names):
        snap = Path(cache_dir) / "models--org--name" / "snapshots" / revision
        snap.mkdir(parents=True, exist_ok=True)
        for n in names:
            (snap / n).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.source / n, snap / n)
        return snap

    def hf_hub_download(self, repo_id, filename, revision=None, cache_dir=None):
        self.calls.append(("hf_hub_download", filename))
        return str(self._fetch(cache_dir or self.source.parent / "index-cache", revision, [filename]) / filename)

    def snapshot_download(self, repo_id, revision=None, cache_dir=None, allow_patterns=None):
        import fnmatch

        self.calls.append(("snapshot_download", repo_id, revision, tuple(allow_patterns)))
        names = [
            p.relative_to(self.source).as_posix()
            for p in self.source.rglob("*")
            if p.is_file() and any(fnmatch.fnmatch(p.relative_to(self.source).as_posix(), a) for a in allow_patterns)
        ]
        return str(self._fetch(cache_dir, revision, names))


# ---------------------------------------------------------------- refs
def test_parse_ref():
    assert parse_ref("Salesforce/xLAM-7b-r") == ("Salesforce/xLAM-7b-r", None)
    assert parse_ref("Salesforce/xLAM-7b-r@main") == ("Salesforce/xLAM-7b-r", "main")
    assert parse_ref(f"a/b@{SHA}") == ("a/b", SHA)
    for bad in ("noslash", "a/b/c", "a/b@", "a/b@..", "a/../b", "-a/b", "a/b c", "a/b;rm -rf"):
        with pytest.raises(ModelRefused):
            parse_ref(bad)


# ---------------------------------------------------------------- hub
def test_hub_model_accepted_and_pinned_to_sha():
    api = FakeApi()
    v = vet_model("Salesforce/xLAM-7b-r@v1.0", api=api)
    assert api.calls == [("model_info", "Salesforce/xLAM-7b-r", "v1.0", True)]
    assert (v.repo, v.sha, v.revision, v.params, v.license) == (
        "Salesforce/xLAM-7b-r",
        SHA,
        "v1.0",
        7_240_000_000,
        "apache-2.0",
    )
    assert v.files == ("README.md", "config.json", "model.safetensors", "tokenizer.json")  # no .gitattributes
    assert v.size_bytes == 16_000_002_200 and v.local_path is None and v.ref == f"Salesforce/xLAM-7b-r@{SHA}"
    assert v.to_dict()["params_b"] == 7.24


def test_hub_revision_kwarg_and_conflict():
    api = FakeApi()
    assert vet_model("a/b", revision="dev", api=api).revision == "dev"
    with pytest.raises(ModelRefused, match="give one"):
        vet_model("a/b@main", revision="dev", api=api)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"siblings": [sib("config.json"), sib("model.safetensors"), sib("pytorch_model.bin")]}, "not safetensors"),
        (
            {"siblings": [sib("config.json"), sib("model.safetensors"), sib("original/consolidated.00.pth")]},
            "not safetensors",
        ),
        ({"siblings": [sib("config.json"), sib("model.safetensors"), sib("training_args.pkl")]}, "not safetensors"),
        ({"siblings": [sib("config.json"), sib("pytorch_model.safetensors.bak")]}, "no .safetensors"),
        ({"safetensors": SimpleNamespace(total=70_000_000_000)}, r"70\.00B parameters, over the 8B limit"),
        ({"safetensors": None}, "no safetensors metadata"),
        ({"config": {"model_type": "x", "auto_map": {"AutoModel": "modeling_x.X"}}}, "custom code"),
        ({"tags": ["custom_code"]}, "custom code"),
        ({"siblings": [sib("model.safetensors")]}, "no config.json"),
        ({"siblings": [sib("config.json"), sib("model.safetensors", 50_000_000_000, lfs=True)]}, "over the 40 GB cap"),
        ({"sha": None}, "did not return a commit sha"),
    ],
)
def test_hub_model_refused(change, match):
    with pytest.raises(ModelRefused, match=match) as ei:
        vet_model("org/name", api=FakeApi(**change))
    assert "\n" not in str(ei.value)


def test_hub_limits_are_configurable():
    api = FakeApi()
    with pytest.raises(ModelRefused, match="over the 7B limit"):
        vet_model("org/name", api=api, max_params_b=7)
    with pytest.raises(ModelRefused, match="over the 10 GB cap"):
        vet_model("org/name", api=api, max_download_gb=10)


def test_hub_params_fall_back_to_safetensors_metadata():
    api = FakeApi(safetensors=None)
    api.get_safetensors_metadata = lambda repo, revision=None: SimpleNamespace(parameter_count={"BF16": 1000})
    assert vet_model("org/name", api=api).params == 1000


def test_hub_license_from_tags_and_other():
    assert vet_model("o/n", api=FakeApi(card_data=None, tags=["license:mit"])).license == "mit"
    card = SimpleNamespace(license="other", license_name="llama3.1")
    assert vet_model("o/n", api=FakeApi(card_data=card)).license == "other:llama3.1"
    assert vet_model("o/n", api=FakeApi(card_data=None, tags=[])).license is None


@pytest.mark.parametrize(
    "exc, match",
    [
        (RepositoryNotFoundError("404"), "was not found on the Hugging Face Hub"),
        (GatedRepoError("403"), "is gated"),
        (ConnectionError("Name or service not known\nmore"), "cannot look up org/name"),
    ],
)
def test_hub_errors_are_one_line(exc, match, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    api = FakeApi()
    api.raise_exc = exc
    with pytest.raises(ModelUnavailable, match=match) as ei:
        vet_model("org/name", api=api)
    assert "\n" not in str(ei.value)


def test_offline_hub_id_is_vetted_from_the_local_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    repo = tmp_path / "hub" / "models--org--name"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(SHA)
    make_dir(repo / "snapshots", SHA, params=500)

    class OfflineModeIsEnabled(Exception):
        pass

    api = FakeApi()
    api.raise_exc = OfflineModeIsEnabled("offline")
    v = vet_model("org/name", api=api)
    assert (v.repo, v.sha, v.params, v.ref) == ("org/name", SHA, 500, f"org/name@{SHA}")
    assert v.local_path == (repo / "snapshots" / SHA).resolve() and v.info["offline"]
    assert download_model(v, api=api) == v.local_path  # nothing fetched
    with pytest.raises(ModelUnavailable, match="not in the local cache"):
        vet_model("org/other", api=api)
    with pytest.raises(ModelUnavailable, match="not in the local cache"):
        vet_model("org/name@dev", api=api)
    api.raise_exc = RepositoryNotFoundError("404")  # the Hub answered: the cache is not consulted
    with pytest.raises(ModelUnavailable, match="was not found"):
        vet_model("org/name", api=api)


def test_download_fetches_only_vetted_files_and_revets(tmp_path, tiny_model_dir):
    src = tmp_path / "src"
    shutil.copytree(tiny_model_dir, src)
    (src / "pytorch_model.bin").write_bytes(b"pickle!")  # on the "hub" but not in vet.files
    (src / "modeling_evil.py").write_text("import os")
    names = [p.name for p in src.iterdir() if p.name not in ("pytorch_model.bin", "modeling_evil.py")]
    params = vet_model(str(tiny_model_dir)).params
    api = FakeApi(siblings=[sib(n, (src / n).stat().st_size) for n in names], safetensors=SimpleNamespace(total=params))
    api.source = src
    v = vet_model("org/name", api=api)
    path = download_model(v, tmp_path / "cache", api=api)
    assert path.name == SHA and (path / "model.safetensors").is_file()
    assert not (path / "pytorch_model.bin").exists() and not (path / "modeling_evil.py").exists()
    call = next(c for c in api.calls if c[0] == "snapshot_download")
    assert call[2] == SHA  # the vetted commit, not the branch
    # the hub lied about the parameter count: the downloaded copy is refused
    api2 = FakeApi(siblings=api.info["siblings"], safetensors=SimpleNamespace(total=10))
    api2.source = src
    with pytest.raises(ModelRefused, match="more than the 10 the Hub declared"):
        download_model(vet_model("org/name", api=api2), tmp_path / "cache2", api=api2)


def make_sharded(root: Path, name: str = "src") -> Path:
    src = make_dir(root, name)
    (src / "model.safetensors").unlink()
    write_safetensors(src / "model-00001-of-00002.safetensors", {"a": ("F32", [10])})
    write_safetensors(src / "model-00002-of-00002.safetensors", {"b": ("F32", [10])})
    (src / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})
    )
    return src


def test_download_of_sharded_model_fetches_exactly_the_vetted_files(tmp_path):
    src = make_sharded(tmp_path)
    api = FakeApi(siblings=sibs_of(src), safetensors=SimpleNamespace(total=20))
    api.source = src
    v = vet_model("org/name", api=api)
    assert ("hf_hub_download", "model.safetensors.index.json") in api.calls  # read before any weight moves
    path = download_model(v, tmp_path / "cache", api=api)
    allow = next(c for c in api.calls if c[0] == "snapshot_download")[3]
    assert sorted(allow) == sorted(v.files)  # allow_patterns: the vetted files, each matching only itself
    assert vet_model(str(path)).params == 20 and local_fingerprint(path) == v.fingerprint


@pytest.mark.parametrize("extra", ["consolidated.safetensors", "model.safetensors", "sub/extra.safetensors"])
def test_hub_index_that_hides_a_weight_file_is_refused_before_download(tmp_path, extra):
    """The index bypass on the Hub: the index names some shards, another .safetensors sits beside them."""
    src = make_sharded(tmp_path)
    (src / extra).parent.mkdir(exist_ok=True)
    write_safetensors(src / extra, {"big": ("F32", [1000])})
    api = FakeApi(siblings=sibs_of(src), safetensors=SimpleNamespace(total=20))
    api.source = src
    with pytest.raises(ModelRefused, match=f"model.safetensors.index.json does not name {extra}") as ei:
        vet_model("org/name", api=api)
    assert "\n" not in str(ei.value) and not [c for c in api.calls if c[0] == "snapshot_download"]


def test_hub_index_naming_a_missing_shard_is_refused(tmp_path):
    src = make_sharded(tmp_path)
    names = sibs_of(src)
    api = FakeApi(
        siblings=[n for n in names if n.rfilename != "model-00002-of-00002.safetensors"],
        safetensors=SimpleNamespace(total=20),
    )
    api.source = src
    with pytest.raises(ModelRefused, match="names shards that are not there"):
        vet_model("org/name", api=api)


def test_download_refused_when_the_files_are_not_what_the_hub_listed(tmp_path):
    src = make_dir(tmp_path, "src")
    api = FakeApi(siblings=sibs_of(src), safetensors=SimpleNamespace(total=1000))
    api.source = src
    v = vet_model("org/name", api=api)
    write_safetensors(src / "model.safetensors", {"w": ("F32", [999]), "x": ("F32", [1])})  # swapped after vetting
    with pytest.raises(ModelRefused, match="not the ones the Hub listed"):
        download_model(v, tmp_path / "cache", api=api)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"config": {"model_type": "x", "trust_remote_code": True}}, "custom code"),
        ({"config": {"model_type": "x", "tokenizer_config": {"auto_map": {"AutoTokenizer": "t.T"}}}}, "custom code"),
        ({"siblings": [sib("config.json"), sib("model.safetensors"), sib("adapter_config.json")]}, "PEFT adapter"),
    ]
    + [
        ({"siblings": [sib("config.json"), sib("model.safetensors"), sib("extra/weights" + ext)]}, "not safetensors")
        for ext in REFUSED_WEIGHT_SUFFIXES
    ],
)
def test_hub_hostile_repos_refused(change, match):
    with pytest.raises(ModelRefused, match=match) as ei:
        vet_model("org/name", api=FakeApi(**change))
    assert "\n" not in str(ei.value)


def test_local_model_needs_no_download(tiny_model_dir):
    v = vet_model(str(tiny_model_dir))
    assert download_model(v) == tiny_model_dir.resolve()


# ---------------------------------------------------------------- local directories
def test_local_tiny_model_accepted(tiny_model_dir):
    v = vet_model(str(tiny_model_dir))
    assert v.local_path == tiny_model_dir.resolve() and v.repo == str(tiny_model_dir.resolve())
    assert v.sha.startswith("local:") and len(v.sha) == 6 + 64
    assert 50_000 < v.params < 1_000_000 and v.license == "mit"
    assert "model.safetensors" in v.files and "README.md" in v.files
    assert v.size_bytes == sum((tiny_model_dir / f).stat().st_size for f in v.files)


def test_local_sha_follows_content_not_path(tmp_path, tiny_model_dir):
    a = vet_model(str(tiny_model_dir)).sha
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    assert vet_model(str(copy)).sha == a
    with (copy / "model.safetensors").open("r+b") as f:  # a "fine-tune": different weight bytes
        f.seek(-4, os.SEEK_END)
        f.write(b"\x01\x02\x03\x04")
    assert vet_model(str(copy)).sha != a
    shutil.copytree(tiny_model_dir, tmp_path / "copy2")
    tc = tmp_path / "copy2" / "tokenizer_config.json"
    tc.write_text(tc.read_text().replace("}", ', "x": 1}', 1))
    assert vet_model(str(tmp_path / "copy2")).sha != a


def test_local_params_limit(tiny_model_dir):
    with pytest.raises(ModelRefused, match=r"over the 0.0001B limit"):
        vet_model(str(tiny_model_dir), max_params_b=0.0001)


def test_local_crafted_header_with_too_many_params(tmp_path):
    d = make_dir(tmp_path)
    # 9 billion BF16 values declared, offsets consistent, data a sparse hole: 18 GB apparent, ~0 on disk
    write_safetensors(d / "model.safetensors", {"w": ("BF16", [90_000, 100_000])}, sparse=True)
    with pytest.raises(ModelRefused, match=r"9\.00B parameters, over the 8B limit"):
        vet_model(str(d), max_download_gb=100)


@pytest.mark.parametrize(
    "hostile, match",
    [
        ("bin", "not safetensors"),
        ("pt_nested", "not safetensors"),
        ("auto_map", "custom code"),
        ("tokenizer_auto_map", "custom code"),
        ("huge_header", "corrupt or hostile safetensors header"),
        ("short_file", "too short"),
        ("bad_json", "not valid JSON"),
        ("offsets", "invalid shape or data offsets"),
        ("size_mismatch", "the file is corrupt"),
        ("dtype", "unknown dtype"),
        ("symlink_out", "points outside the model directory"),
        ("symlink_dir", "points outside the model directory"),
        ("no_config", "no config.json"),
        ("no_weights", "no .safetensors weights"),
        ("missing_shard", "names shards that are not there"),
        ("huge_config", "not a real config file"),
        ("broken_link", "not a regular file"),
        ("fifo", "not a regular file"),
    ],
)
def test_local_hostile_dirs_refused(tmp_path, hostile, match):
    d = make_dir(tmp_path)
    st = d / "model.safetensors"
    if hostile == "bin":
        (d / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    elif hostile == "pt_nested":
        (d / "original").mkdir()
        (d / "original" / "consolidated.00.pth").write_bytes(b"x")
    elif hostile == "auto_map":
        (d / "config.json").write_text(json.dumps({"model_type": "x", "auto_map": {"AutoModel": "m.X"}}))
    elif hostile == "tokenizer_auto_map":
        (d / "tokenizer_config.json").write_text(json.dumps({"auto_map": {"AutoTokenizer": ["t.T", None]}}))
    elif hostile == "huge_header":
        st.write_bytes(struct.pack("<Q", 2**63) + b"{}")
    elif hostile == "short_file":
        st.write_bytes(b"\x01\x02")
    elif hostile == "bad_json":
        st.write_bytes(struct.pack("<Q", 5) + b"{nope")
    elif hostile == "offsets":
        raw = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 10**9]}}).encode()
        st.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 16)
    elif hostile == "size_mismatch":
        raw = json.dumps({"w": {"dtype": "F32", "shape": [10**6], "data_offsets": [0, 16]}}).encode()
        st.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 16)
    elif hostile == "dtype":
        raw = json.dumps({"w": {"dtype": "EVIL", "shape": [10**12], "data_offsets": [0, 16]}}).encode()
        st.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 16)
    elif hostile == "symlink_out":
        secret = tmp_path / "secret.json"
        secret.write_text("{}")
        (d / "tokenizer.json").symlink_to(secret)
    elif hostile == "symlink_dir":
        (d / "sub").symlink_to(tmp_path, target_is_directory=True)
    elif hostile == "no_config":
        (d / "config.json").unlink()
    elif hostile == "no_weights":
        st.unlink()
    elif hostile == "missing_shard":
        (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": "model-00001.safetensors"}}))
    elif hostile == "broken_link":
        (d / "tokenizer.json").symlink_to(d / "missing.json")
    elif hostile == "fifo":
        os.mkfifo(d / "generation_config.json")
    elif hostile == "huge_config":
        with (d / "config.json").open("wb") as f:
            f.truncate(60 * 1024 * 1024)
    with pytest.raises(ModelRefused, match=match) as ei:
        vet_model(str(d))
    assert "\n" not in str(ei.value)


def test_local_symlinks_inside_and_hf_cache_layout_accepted(tmp_path):
    d = make_dir(tmp_path)
    (d / "model.safetensors").rename(d / "weights.safetensors")
    (d / "model.safetensors").symlink_to(d / "weights.safetensors")
    assert vet_model(str(d)).params == 2000  # both names are files in the directory
    # HF cache: snapshots/<sha>/file -> ../../blobs/<hash>
    repo = tmp_path / "hub" / "models--org--name"
    (repo / "blobs").mkdir(parents=True)
    snap = repo / "snapshots" / SHA
    snap.mkdir(parents=True)
    src = make_dir(tmp_path, "src")
    for f in src.iterdir():
        shutil.copy(f, repo / "blobs" / f.name)
        (snap / f.name).symlink_to(Path("../../blobs") / f.name)
    assert vet_model(str(snap)).params == 1000


def test_not_a_directory_or_id(tmp_path):
    with pytest.raises(ModelRefused, match="is not a directory"):
        vet_model(str(tmp_path / "nope"))
    with pytest.raises(ModelRefused, match="neither a local directory nor a Hugging Face model id"):
        vet_model("just-a-name")


def test_read_safetensors_header_counts(tmp_path):
    f = tmp_path / "x.safetensors"
    write_safetensors(f, {"a": ("F32", [2, 3]), "b": ("BF16", [5])})
    header, raw, n = read_safetensors_header(f)
    assert n == 11 and set(header) == {"a", "b"} and raw.startswith(b"{")


# ---------------------------------------------------------------- issue 10: hostile directories
def _raw_header(st: Path, header: dict, data: bytes = b"\0" * 16) -> None:
    raw = json.dumps(header).encode()
    st.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def _attack(d: Path, tmp_path: Path, attack: str) -> None:
    st = d / "model.safetensors"
    if attack == "index_bypass":  # the index names a 1-parameter stub; the real weights sit beside it
        write_safetensors(st, {"w": ("F32", [5000])})
        write_safetensors(d / "stub.safetensors", {"s": ("F32", [1])})
        (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"s": "stub.safetensors"}}))
    elif attack == "index_hides_shard":
        write_safetensors(d / "model-00001-of-00002.safetensors", {"a": ("F32", [10])})
        write_safetensors(d / "model-00002-of-00002.safetensors", {"b": ("F32", [10])})
        st.unlink()
        (d / "model.safetensors.index.json").write_text(
            json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors"}})
        )
    elif attack == "index_not_a_map":
        (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": ["model.safetensors"]}))
    elif attack == "index_outside":
        (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": "../x.safetensors"}}))
    elif attack == "hard_link":
        outside = tmp_path / "outside.json"
        outside.write_text("{}")
        os.link(outside, d / "tokenizer.json")
    elif attack == "hard_link_weights":
        os.link(st, tmp_path / "elsewhere.safetensors")
    elif attack == "symlink_loop":
        (d / "a.json").symlink_to(d / "b.json")
        (d / "b.json").symlink_to(d / "a.json")
    elif attack == "self_loop":
        (d / "loop.safetensors").symlink_to(d / "loop.safetensors")
    elif attack == "nested_header":
        raw = b'{"__metadata__": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        st.write_bytes(struct.pack("<Q", len(raw)) + raw)
    elif attack == "nested_header_shallow":  # below the recursion limit, above any real header
        raw = b'{"__metadata__": {"a": ' + b"[" * 200 + b"]" * 200 + b"}}"
        st.write_bytes(struct.pack("<Q", len(raw)) + raw)
    elif attack == "nested_config":
        (d / "config.json").write_text('{"model_type": "llama", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    elif attack == "nested_tokenizer_config":
        (d / "tokenizer_config.json").write_text('{"x": ' + '{"y": ' * 500 + "1" + "}" * 500 + "}")
    elif attack == "bool_shape":
        _raw_header(st, {"w": {"dtype": "F32", "shape": [True, 4], "data_offsets": [0, 16]}})
    elif attack == "bool_offsets":
        _raw_header(st, {"w": {"dtype": "F32", "shape": [1], "data_offsets": [False, True]}}, b"\0")
    elif attack == "float_shape":
        _raw_header(st, {"w": {"dtype": "F32", "shape": [4.0], "data_offsets": [0, 16]}})
    elif attack == "metadata_not_strings":
        _raw_header(
            st, {"__metadata__": {"format": {"pt": 1}}, "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
        )
    elif attack == "offsets_gap":  # 4 unaccounted bytes between two tensors: data the count never sees
        _raw_header(
            st,
            {
                "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},
            },
        )
    elif attack == "offsets_overlap":
        _raw_header(
            st,
            {
                "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                "b": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
            },
        )
    elif attack == "trailing_data":
        _raw_header(st, {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})
    elif attack == "header_not_object":
        _raw_header(st, [1, 2])  # type: ignore[arg-type]
    elif attack == "config_list":
        (d / "config.json").write_text("[1, 2]")
    elif attack == "config_string":
        (d / "config.json").write_text('"llama"')
    elif attack == "tokenizer_config_list":
        (d / "tokenizer_config.json").write_text("[]")
    elif attack == "nested_tokenizer_json":
        (d / "tokenizer.json").write_text('{"model": ' + "[" * 5000 + "]" * 5000 + "}")
    elif attack == "broken_generation_config":
        (d / "generation_config.json").write_text('{"max_new_tokens": ')
    elif attack == "trust_remote_code":
        (d / "config.json").write_text(json.dumps({"model_type": "llama", "trust_remote_code": True}))
    elif attack == "nested_auto_map":
        (d / "config.json").write_text(json.dumps({"model_type": "llava", "text_config": {"auto_map": {"A": "m.X"}}}))
    elif attack == "adapter":
        (d / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "big/70B", "peft_type": "LORA"}))
    elif attack == "unreadable":
        (d / "tokenizer_config.json").chmod(0)
    else:
        raise AssertionError(attack)


@pytest.mark.parametrize(
    "attack, match",
    [
        ("index_bypass", "model.safetensors.index.json does not name model.safetensors"),
        ("index_hides_shard", "model.safetensors.index.json does not name model-00002-of-00002.safetensors"),
        ("index_not_a_map", "model.safetensors.index.json has no valid weight_map"),
        ("index_outside", "names shards that are not there"),
        ("hard_link", "tokenizer.json is a hard link"),
        ("hard_link_weights", "model.safetensors is a hard link"),
        ("symlink_loop", "json is a symlink loop"),
        ("self_loop", "loop.safetensors is a symlink loop"),
        ("nested_header", "model.safetensors \\(safetensors header\\) nests JSON deeper"),
        ("nested_header_shallow", "model.safetensors \\(safetensors header\\) nests JSON deeper"),
        ("nested_config", "config.json nests JSON deeper"),
        ("nested_tokenizer_config", "tokenizer_config.json nests JSON deeper"),
        ("nested_tokenizer_json", "tokenizer.json nests JSON deeper"),
        ("broken_generation_config", "generation_config.json is not valid JSON"),
        ("bool_shape", "model.safetensors: tensor 'w' has an invalid shape"),
        ("bool_offsets", "model.safetensors: tensor 'w' has an invalid shape or data offsets"),
        ("float_shape", "model.safetensors: tensor 'w' has an invalid shape"),
        ("metadata_not_strings", "model.safetensors: __metadata__ .* must map strings to strings"),
        ("offsets_gap", "model.safetensors: the tensors' byte ranges overlap or leave gaps"),
        ("offsets_overlap", "model.safetensors: the tensors' byte ranges overlap or leave gaps"),
        ("trailing_data", "model.safetensors: the tensors cover 8 of the 16 data bytes"),
        ("header_not_object", "model.safetensors: the safetensors header is not a JSON object"),
        ("config_list", "config.json is not a JSON object"),
        ("config_string", "config.json is not a JSON object"),
        ("tokenizer_config_list", "tokenizer_config.json is not a JSON object"),
        ("trust_remote_code", "config.json asks for custom code \\(trust_remote_code\\)"),
        ("nested_auto_map", "config.json asks for custom code \\(auto_map\\)"),
        ("adapter", "adapter_config.json: a PEFT adapter"),
        ("unreadable", "tokenizer_config.json"),
    ],
)
def test_issue10_hostile_dirs_refused_naming_the_file(tmp_path, attack, match):
    if attack == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads files without permission")
    d = make_dir(tmp_path)
    _attack(d, tmp_path, attack)
    with pytest.raises(ModelRefused, match=match) as ei:
        vet_model(str(d), max_params_b=1e-6)  # the cap is 1,000 parameters: the real file is over it
    assert "\n" not in str(ei.value) and type(ei.value) is ModelRefused


@pytest.mark.parametrize("suffix", (*REFUSED_WEIGHT_SUFFIXES, "variables.data-00000-of-00001", "model.ckpt.index"))
def test_every_other_weight_format_is_refused(tmp_path, suffix):
    d = make_dir(tmp_path)
    (d / "extra").mkdir()
    (d / "extra" / (suffix if suffix.startswith(("variables", "model.")) else "weights" + suffix)).write_bytes(b"x")
    with pytest.raises(ModelRefused, match="not safetensors"):
        vet_model(str(d))


def test_never_downloaded_either():
    """Belt and braces: none of the refused formats matches what download_model may fetch."""
    from bitagent_cli.serving.vetting import _allowed

    assert not [s for s in REFUSED_WEIGHT_SUFFIXES if _allowed("weights" + s) or _allowed("sub/x" + s)]


# What we refuse, the safetensors library also fails on (so nothing fails only at server start); what
# we accept, it loads with the same parameter count.
@pytest.mark.parametrize(
    "attack",
    [
        "bool_shape",
        "bool_offsets",
        "float_shape",
        "metadata_not_strings",
        "offsets_gap",
        "offsets_overlap",
        "trailing_data",
        "header_not_object",
        "nested_header",
    ],
)
def test_refused_headers_fail_in_the_safetensors_library_too(tmp_path, attack):
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    d = make_dir(tmp_path)
    _attack(d, tmp_path, attack)
    with pytest.raises(SafetensorError, match="deserializing header"):
        load_file(str(d / "model.safetensors"))
    with pytest.raises(ModelRefused):
        read_safetensors_header(d / "model.safetensors")


def test_headers_the_safetensors_library_writes_are_accepted(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    f = tmp_path / "x.safetensors"
    save_file(
        {
            "a": np.zeros((3, 5), np.float16),
            "b": np.zeros(7, np.int64),
            "c": np.zeros((0, 4), np.float32),
            "d": np.zeros(3, np.bool_),
            "e": np.zeros((), np.float32),
        },
        str(f),
        metadata={"format": "np"},
    )
    assert read_safetensors_header(f)[2] == 15 + 7 + 0 + 3 + 1


# ---------------------------------------------------------------- fingerprints
def test_fingerprint_follows_the_tensors_not_names_or_paths(tmp_path):
    a = make_sharded(tmp_path, "a")
    fp = vet_model(str(a)).fingerprint
    assert fp and len(fp) == 64 and local_fingerprint(a) == fp
    b = tmp_path / "b"  # same weights, shards renamed, another config: same fingerprint, another sha
    shutil.copytree(a, b)
    (b / "model-00001-of-00002.safetensors").rename(b / "part-z.safetensors")
    (b / "model-00002-of-00002.safetensors").rename(b / "part-a.safetensors")
    (b / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "part-z.safetensors", "b": "part-a.safetensors"}})
    )
    (b / "config.json").write_text(json.dumps({"model_type": "llama", "torch_dtype": "float32"}))
    vb = vet_model(str(b))
    assert vb.fingerprint == fp and vb.sha != vet_model(str(a)).sha
    with (b / "part-a.safetensors").open("r+b") as f:  # one byte of one tensor
        f.seek(-1, os.SEEK_END)
        f.write(b"\x01")
    assert vet_model(str(b)).fingerprint != fp
    # the definition: sha256 over the sorted sha256 of the files
    hashes = [
        hashlib.sha256((a / n).read_bytes()).hexdigest()
        for n in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
    ]
    assert fp == weights_fingerprint(reversed(hashes)) == weights_fingerprint(hashes)


def test_remote_fingerprint_equals_the_local_one_without_download(tmp_path):
    src = make_sharded(tmp_path)
    api = FakeApi(siblings=sibs_of(src), safetensors=SimpleNamespace(total=20))
    api.source = src
    v = vet_model("org/name", api=api)
    assert v.fingerprint == local_fingerprint(src) and v.to_dict()["fingerprint"] == v.fingerprint
    assert not [c for c in api.calls if c[0] == "snapshot_download"]
    calls = len(api.calls)
    assert remote_fingerprint("org/name", SHA, api=api) == v.fingerprint
    assert api.calls[calls:] == [("model_info", "org/name", SHA, True)]
    # a copy under another repo and sha: same fingerprint
    api2 = FakeApi(sha="f" * 40, siblings=sibs_of(src), safetensors=SimpleNamespace(total=20))
    api2.source = src
    assert vet_model("thief/copy", api=api2).fingerprint == v.fingerprint
    # a weight file outside LFS has no hash on the Hub: no remote fingerprint (the download computes it)
    plain = [sib(n.rfilename, 100) if n.rfilename.endswith(".safetensors") else n for n in sibs_of(src)]
    assert remote_fingerprint("org/name", SHA, api=FakeApi(siblings=plain)) is None


def test_offline_cached_snapshot_has_the_local_fingerprint(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    repo = tmp_path / "hub" / "models--org--name"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(SHA)
    snap = make_dir(repo / "snapshots", SHA)

    class OfflineModeIsEnabled(Exception):
        pass

    api = FakeApi()
    api.raise_exc = OfflineModeIsEnabled("offline")
    assert vet_model("org/name", api=api).fingerprint == local_fingerprint(snap)


def test_dtypes_are_the_safetensors_librarys(tmp_path):
    """Every dtype vetting accepts loads in the library with the same byte size; an unknown one is refused."""
    from safetensors import safe_open

    from bitagent_cli.serving.vetting import _DTYPE_BITS

    for dtype, bits in _DTYPE_BITS.items():
        f = tmp_path / f"{dtype}.safetensors"
        _raw_header(f, {"w": {"dtype": dtype, "shape": [8], "data_offsets": [0, bits]}}, b"\0" * bits)
        assert read_safetensors_header(f)[2] == 8
        with safe_open(str(f), "np") as st:  # the header parses (dtypes numpy lacks fail only at get_tensor)
            assert list(st.keys()) == ["w"]
    f = tmp_path / "bad.safetensors"
    _raw_header(f, {"w": {"dtype": "E8M0", "shape": [8], "data_offsets": [0, 8]}}, b"\0" * 8)
    with pytest.raises(ModelRefused, match="unknown dtype"):
        read_safetensors_header(f)
