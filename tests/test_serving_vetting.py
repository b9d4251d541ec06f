"""Model vetting: hub models through a fake HfApi (no network) and local directories, hostile ones included."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest

from bitagent_cli.serving.vetting import (
    ModelRefused,
    ModelUnavailable,
    download_model,
    parse_ref,
    read_safetensors_header,
    vet_model,
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


def sib(name: str, size: int = 100, lfs: bool = False):
    return SimpleNamespace(rfilename=name, size=None if lfs else size,
                           lfs=SimpleNamespace(size=size, sha256="x") if lfs else None)


class RepositoryNotFoundError(Exception):
    pass


class GatedRepoError(Exception):
    pass


class FakeApi:
    """model_info / snapshot_download / hf_hub_download over a dict of repos (and optional source dirs)."""

    def __init__(self, **info):
        self.info = {"sha": SHA, "siblings": [sib("config.json"), sib("tokenizer.json", 2000),
                                              sib("model.safetensors", 16_000_000_000, lfs=True),
                                              sib("README.md"), sib(".gitattributes")],
                     "safetensors": SimpleNamespace(total=7_240_000_000, parameters={"BF16": 7_240_000_000}),
                     "card_data": SimpleNamespace(license="apache-2.0"), "tags": ["license:apache-2.0"],
                     "config": {"model_type": "mistral", "architectures": ["MistralForCausalLM"]}}
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
            shutil.copy(self.source / n, snap / n)
        return snap

    def hf_hub_download(self, repo_id, filename, revision=None, cache_dir=None):
        self.calls.append(("hf_hub_download", filename))
        return str(self._fetch(cache_dir, revision, [filename]) / filename)

    def snapshot_download(self, repo_id, revision=None, cache_dir=None, allow_patterns=None):
        import fnmatch

        self.calls.append(("snapshot_download", repo_id, revision, tuple(allow_patterns)))
        names = [p.name for p in self.source.iterdir() if any(fnmatch.fnmatch(p.name, a) for a in allow_patterns)]
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
    assert (v.repo, v.sha, v.revision, v.params, v.license) == ("Salesforce/xLAM-7b-r", SHA, "v1.0",
                                                                7_240_000_000, "apache-2.0")
    assert v.files == ("README.md", "config.json", "model.safetensors", "tokenizer.json")  # no .gitattributes
    assert v.size_bytes == 16_000_002_200 and v.local_path is None and v.ref == f"Salesforce/xLAM-7b-r@{SHA}"
    assert v.to_dict()["params_b"] == 7.24


def test_hub_revision_kwarg_and_conflict():
    api = FakeApi()
    assert vet_model("a/b", revision="dev", api=api).revision == "dev"
    with pytest.raises(ModelRefused, match="give one"):
        vet_model("a/b@main", revision="dev", api=api)


@pytest.mark.parametrize("change, match", [
    ({"siblings": [sib("config.json"), sib("model.safetensors"), sib("pytorch_model.bin")]}, "pickle-format"),
    ({"siblings": [sib("config.json"), sib("model.safetensors"), sib("original/consolidated.00.pth")]},
     "pickle-format"),
    ({"siblings": [sib("config.json"), sib("model.safetensors"), sib("training_args.pkl")]}, "pickle-format"),
    ({"siblings": [sib("config.json"), sib("pytorch_model.safetensors.bak")]}, "no .safetensors"),
    ({"safetensors": SimpleNamespace(total=70_000_000_000)}, r"70\.00B parameters, over the 8B limit"),
    ({"safetensors": None}, "no safetensors metadata"),
    ({"config": {"model_type": "x", "auto_map": {"AutoModel": "modeling_x.X"}}}, "custom code"),
    ({"tags": ["custom_code"]}, "custom code"),
    ({"siblings": [sib("model.safetensors")]}, "no config.json"),
    ({"siblings": [sib("config.json"), sib("model.safetensors", 50_000_000_000, lfs=True)]}, "over the 40 GB cap"),
    ({"sha": None}, "did not return a commit sha"),
])
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


@pytest.mark.parametrize("exc, match", [
    (RepositoryNotFoundError("404"), "was not found on the Hugging Face Hub"),
    (GatedRepoError("403"), "is gated"),
    (ConnectionError("Name or service not known\nmore"), "cannot look up org/name"),
])
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
    api = FakeApi(siblings=[sib(n, (src / n).stat().st_size) for n in names],
                  safetensors=SimpleNamespace(total=params))
    api.source = src
    v = vet_model("org/name", api=api)
    path = download_model(v, tmp_path / "cache", api=api)
    assert path.name == SHA and (path / "model.safetensors").is_file()
    assert not (path / "pytorch_model.bin").exists() and not (path / "modeling_evil.py").exists()
    call = [c for c in api.calls if c[0] == "snapshot_download"][0]
    assert call[2] == SHA  # the vetted commit, not the branch
    # the hub lied about the parameter count: the downloaded copy is refused
    api2 = FakeApi(siblings=api.info["siblings"], safetensors=SimpleNamespace(total=10))
    api2.source = src
    with pytest.raises(ModelRefused, match="more than the 10 the Hub declared"):
        download_model(vet_model("org/name", api=api2), tmp_path / "cache2", api=api2)


def test_download_of_sharded_model_skips_unindexed_weights(tmp_path):
    src = make_dir(tmp_path, "src")
    (src / "model.safetensors").unlink()
    write_safetensors(src / "model-00001-of-00002.safetensors", {"a": ("F32", [10])})
    write_safetensors(src / "model-00002-of-00002.safetensors", {"b": ("F32", [10])})
    write_safetensors(src / "consolidated.safetensors", {"a": ("F32", [10]), "b": ("F32", [10])})
    (src / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    api = FakeApi(siblings=[sib(p.name, p.stat().st_size) for p in src.iterdir()],
                  safetensors=SimpleNamespace(total=40))
    api.source = src
    path = download_model(vet_model("org/name", api=api), tmp_path / "cache", api=api)
    assert not (path / "consolidated.safetensors").exists()
    assert vet_model(str(path)).params == 20


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
    with pytest.raises(ModelRefused, match="over the 0.0001B limit"):
        vet_model(str(tiny_model_dir), max_params_b=0.0001)


def test_local_crafted_header_with_too_many_params(tmp_path):
    d = make_dir(tmp_path)
    # 9 billion BF16 values declared, offsets consistent, data a sparse hole: 18 GB apparent, ~0 on disk
    write_safetensors(d / "model.safetensors", {"w": ("BF16", [90_000, 100_000])}, sparse=True)
    with pytest.raises(ModelRefused, match=r"9\.00B parameters, over the 8B limit"):
        vet_model(str(d), max_download_gb=100)


@pytest.mark.parametrize("hostile, match", [
    ("bin", "pickle-format"),
    ("pt_nested", "pickle-format"),
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
    ("missing_shard", "names missing shards"),
    ("huge_config", "not a real config file"),
    ("broken_link", "not a regular file"),
    ("fifo", "not a regular file"),
])
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
