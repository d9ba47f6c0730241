"""Find a dataset file on disk, or download it once, and never hand out a corrupt one.

A file is looked up, by its path relative to a data folder (the layout of shared/data:
`semeion.data`, `mnist/<file>.gz`, `fashion-mnist/<file>.gz`), in this order:

1. the `data_dir` argument of the loader,
2. the folder named by the environment variable `$GLASSNET_DATA`,
3. the user cache, `$XDG_CACHE_HOME/glassnet` (default `~/.cache/glassnet`).

If none holds it, it is downloaded from its canonical source into the cache. Every file,
found or downloaded, must match the SHA-256 embedded below; a mismatch is an error that says
where to get the original. A download is streamed into a temporary file beside its target
and moved into place (`os.replace`, atomic) only after its checksum has passed.

Tests replace `_urlopen` (module level) to serve files without a network.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# Seconds a download may wait on the server before it is given up (socket timeout).
DOWNLOAD_TIMEOUT = 20.0
_CHUNK = 1 << 20

# Replaced in tests by a fake opener; looked up at call time, so monkeypatching works.
_urlopen = urllib.request.urlopen


class DatasetError(OSError, ValueError):
    """A dataset file is missing, cannot be downloaded, or is corrupt.

    It derives from both OSError (file or network trouble) and ValueError (bad content),
    so callers may catch it as either.
    """


@dataclass(frozen=True)
class RemoteFile:
    """One original file: where it lives under a data folder, its checksum, its mirrors."""

    relative: str  # path under a data folder, "/"-separated
    sha256: str
    size: int  # bytes; a download that grows past it is cut off
    urls: tuple[str, ...]  # tried in order


_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/semeion/"
# torchvision's mirror list for MNIST: the original yann.lecun.com site now refuses most requests.
_MNIST = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_FASHION = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)


def _entry(relative: str, sha256: str, size: int, bases: tuple[str, ...]) -> RemoteFile:
    name = relative.rsplit("/", 1)[-1]
    return RemoteFile(relative, sha256, size, tuple(base + name for base in bases))


# SHA-256 and sizes copied from shared/data/SHA256SUMS and SOURCES.md (byte-identical originals).
FILES: dict[str, RemoteFile] = {
    entry.relative: entry
    for entry in (
        _entry("semeion.data",
               "f43228ae3da5ea6a3c95069d53450b86166770e3b719dcc333182128fe08d4b1",
               2_889_702, (_UCI,)),
        _entry("mnist/train-images-idx3-ubyte.gz",
               "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
               9_912_422, _MNIST),
        _entry("mnist/train-labels-idx1-ubyte.gz",
               "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
               28_881, _MNIST),
        _entry("mnist/t10k-images-idx3-ubyte.gz",
               "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
               1_648_877, _MNIST),
        _entry("mnist/t10k-labels-idx1-ubyte.gz",
               "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
               4_542, _MNIST),
        _entry("fashion-mnist/train-images-idx3-ubyte.gz",
               "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
               26_421_880, _FASHION),
        _entry("fashion-mnist/train-labels-idx1-ubyte.gz",
               "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
               29_515, _FASHION),
        _entry("fashion-mnist/t10k-images-idx3-ubyte.gz",
               "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
               4_422_102, _FASHION),
        _entry("fashion-mnist/t10k-labels-idx1-ubyte.gz",
               "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
               5_148, _FASHION),
    )
}

# Files already hashed in this process: (path, size, mtime_ns, sha256) of each one that matched.
# A changed file has a new size or mtime, so it is hashed again.
_verified: set[tuple[str, int, int, str]] = set()


def cache_dir() -> Path:
    """The user cache folder: `$XDG_CACHE_HOME/glassnet`, else `~/.cache/glassnet`."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "glassnet"


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched, in order: `data_dir`, `$GLASSNET_DATA`, the user cache."""
    folders = [Path(data_dir)] if data_dir is not None else []
    if os.environ.get("GLASSNET_DATA"):
        folders.append(Path(os.environ["GLASSNET_DATA"]))
    folders.append(cache_dir())
    return folders


def fetch(relative: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The verified local path of the dataset file `relative` (a key of `FILES`).

    The first folder of `search_dirs(data_dir)` that holds the file wins; that copy must
    match its SHA-256 (a corrupt copy is an error, not skipped). With no copy anywhere, the
    file is downloaded into the cache.

    Raises:
        DatasetError: the file is corrupt, or missing and the download failed.
    """
    if relative not in FILES:
        raise ValueError(f"unknown dataset file {relative!r}; valid names: {', '.join(FILES)}")
    remote = FILES[relative]
    for folder in search_dirs(data_dir):
        path = folder / relative
        if path.is_file():
            verify(path, remote)
            return path
    return download(remote, cache_dir() / relative)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, remote: RemoteFile) -> None:
    """Check `path` against `remote.sha256` (once per process for an unchanged file)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, remote.sha256)
    if key in _verified:
        return
    actual = sha256_of(path)
    if actual != remote.sha256:
        raise DatasetError(
            f"{path} is corrupt or not the original {remote.relative} "
            f"(SHA-256 {actual}, expected {remote.sha256}); it was not used.\n"
            + _how_to_get(remote, path)
        )
    _verified.add(key)


def download(remote: RemoteFile, target: Path) -> Path:
    """Download `remote` to `target`, trying each mirror; only a verified file lands there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in remote.urls:
        try:
            _download_one(url, remote, target)
        # URLError and timeouts are OSErrors; a cut connection is an HTTPException.
        except (OSError, ValueError, http.client.HTTPException) as error:
            failures.append(f"  {url}: {error}")
            continue
        stat = target.stat()
        _verified.add((str(target.resolve()), stat.st_size, stat.st_mtime_ns, remote.sha256))
        return target
    raise DatasetError(
        f"{remote.relative} is not in any data folder and could not be downloaded:\n"
        + "\n".join(failures) + "\n" + _how_to_get(remote, target)
    )


def _download_one(url: str, remote: RemoteFile, target: Path) -> None:
    """Stream `url` into a temporary file beside `target`; move it there if the hash matches."""
    prefix = target.name + "."
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            sha256 = _copy_url(url, file, remote.size, target.name)
        if sha256 != remote.sha256:
            raise ValueError(f"SHA-256 mismatch: got {sha256}")
        os.replace(temp_name, target)  # atomic: readers see no file or the whole, checked file
    finally:
        if os.path.exists(temp_name):
            os.remove(temp_name)


def _copy_url(url: str, file, max_size: int, label: str) -> str:
    """Copy the body of `url` into `file` with a progress bar; return its hex SHA-256."""
    from tqdm import tqdm  # here: `import glassnet` needs no progress bar

    digest = hashlib.sha256()
    received = 0
    with _urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, tqdm(
        total=max_size, unit="B", unit_scale=True, desc=label, leave=False
    ) as bar:
        while chunk := response.read(_CHUNK):
            received += len(chunk)
            if received > max_size:  # a wrong or endless response: stop reading
                raise ValueError(f"server sent more than the expected {max_size} bytes")
            digest.update(chunk)
            file.write(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def _how_to_get(remote: RemoteFile, where: Path) -> str:
    """The hint shown with every error: where the original is, its checksum, where it goes."""
    urls = "\n".join(f"  {url}" for url in remote.urls)
    return (
        f"Get the original {remote.relative} from:\n{urls}\n"
        f"check that its SHA-256 is {remote.sha256},\n"
        f"and put it at {where} (or in any folder passed as data_dir= or named by "
        f"$GLASSNET_DATA, as <folder>/{remote.relative})."
    )


__all__ = ["DatasetError", "FILES", "RemoteFile", "cache_dir", "fetch", "search_dirs", "verify"]
