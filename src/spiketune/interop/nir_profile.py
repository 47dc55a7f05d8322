"""Profile a network given as a NIR graph: run it on a dataset's test split and write its
spike traces and sparsity profile, ready to be costed on an accelerator."""

from __future__ import annotations

from pathlib import Path

from spiketune.data.datasets import get_dataset
from spiketune.data.registry import spec
from spiketune.interop import nir_io
from spiketune.measure.profile import Profile, run_profile
from spiketune.network.models import SpikingNetwork
from spiketune.results import write_json


def profile_nir(model_file: str | Path, dataset: str, num_steps: int | None, out_dir: str | Path,
                reset: str | None = None, root: str | Path | None = None) -> tuple[SpikingNetwork, Profile]:
    """Import ``model_file``, run it for ``num_steps`` (default: the dataset's T) on ``dataset``'s
    test split (stored in ``root``, else its default place); write ``out_dir/traces`` and
    ``out_dir/profile.json``."""
    out = Path(out_dir)
    num_steps = num_steps or spec(dataset).num_steps
    ds = get_dataset(dataset, "test", root, num_steps=num_steps, progress=True)
    model = nir_io.read(model_file, num_classes=ds.num_classes, reset=reset)
    prof = run_profile(model, ds, num_steps, "events" if ds.frames else "direct", trace_dir=out / "traces")
    write_json(out / "profile.json", prof.to_dict())
    return model, prof
