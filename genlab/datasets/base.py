"""What every data source yields: an ImageSet (images + labels + class names) at one size.

Small sets are held as uint8 tensors (on the training device: a batch is an index slice);
sets larger than a memory budget stream from their files through a DataLoader with workers.
Either way ``batches`` gives float (B, C, R, R) images in [-1, 1] and (B,) labels.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader, Dataset

MEMORY_BUDGET_MB = 2048  # sets whose uint8 pixels fit in this are held in memory; larger ones stream


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] (or float already in [-1, 1]) -> float32 in [-1, 1]."""
    return images.float() / 127.5 - 1.0 if images.dtype == torch.uint8 else images.float()


@dataclass
class ImageSet:
    """Images of one split at one size, with labels and where they came from.

    images: uint8 (N, C, R, R) when held in memory, else None and ``load`` decodes ``files``.
    class_names: one per label; empty for an unconditional (flat) folder, where labels are 0.
    skipped: (file, reason) for every file that could not be used.
    """

    labels: torch.Tensor  # (N,) int64
    class_names: list[str]
    resolution: int
    channels: int
    images: torch.Tensor | None = None
    files: list[tuple[str, ...]] | None = None  # per item: one path (or one per image of a pair)
    load: object = None  # callable(item files) -> uint8 (C, R, R) (or a tuple of them), for streaming
    fit: str = "crop"
    root: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def in_memory(self) -> bool:
        return self.images is not None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def tensors(self, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(float images (N, C, R, R) in [-1, 1], labels (N,)) of the first ``limit`` items, in memory."""
        n = len(self) if limit is None else min(limit, len(self))
        if self.in_memory:
            return to_float(self.images[:n]), self.labels[:n]
        data = _Streamed(self)
        return to_float(torch.stack([data[i][0] for i in range(n)])), self.labels[:n]

    def batches(self, batch_size: int, generator: torch.Generator, device="cpu", workers: int = 2
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Endless shuffled batches (x (B, C, R, R) in [-1, 1] on ``device``, labels (B,)), epoch by epoch.

        In memory: the uint8 tensor moves to the device once and each batch is an index slice
        of a fresh permutation per epoch (drawn from ``generator``). Streaming: a DataLoader
        with ``workers`` processes decodes the files.
        """
        if len(self) < batch_size:
            from ..errors import DatasetError

            raise DatasetError(f"batch size {batch_size} is larger than the {len(self)} training images: "
                               f"use --batch-size {len(self)} or less, or add images")
        if self.in_memory:
            images, labels = self.images.to(device), self.labels.to(device)
            while True:
                perm = torch.randperm(len(self), generator=generator).to(device)
                for pos in range(0, len(self) - batch_size + 1, batch_size):
                    idx = perm[pos : pos + batch_size]
                    yield to_float(images[idx]), labels[idx]
        loader = DataLoader(_Streamed(self), batch_size=batch_size, shuffle=True, drop_last=True, generator=generator,
                            num_workers=workers, persistent_workers=workers > 0, pin_memory=str(device) != "cpu")
        while True:
            for x, y in loader:
                yield to_float(x.to(device, non_blocking=True)), y.to(device, non_blocking=True)


def random_hflip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror a random half of a batch (B, C, H, W) left-right: twice the images for a small set whose pictures
    make sense mirrored (the x-flips of StyleGAN2-ADA's small-data runs). ``generator``: the run's data order."""
    flip = (torch.rand(x.size(0), generator=generator) < 0.5).to(x.device)[:, None, None, None]
    return torch.where(flip, x.flip(3), x)


class _Streamed(Dataset):
    """Decode one item per index (in DataLoader workers). A file that fails to decode now (truncated
    after the header check) is reported on stderr and replaced by the next item."""

    def __init__(self, data: ImageSet):
        self.files, self.labels, self.load = data.files, data.labels, data.load

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        from ..errors import ImageInputError

        for k in range(len(self.files)):
            j = (i + k) % len(self.files)
            try:
                return self.load(self.files[j]), self.labels[j]
            except ImageInputError as e:
                print(f"skipped {self.files[j][0]}: {e}", file=sys.stderr)
        raise RuntimeError("no readable file left in the data set")


@dataclass
class PairedSet:
    """Aligned pairs for image-to-image translation: a[i] -> b[i], one label each (0 if none)."""

    a: ImageSet
    b: ImageSet

    def __len__(self) -> int:
        return len(self.a)

    def tensors(self, limit: int | None = None):
        """(inputs, targets, labels), float in [-1, 1], in memory."""
        (xa, la), (xb, _) = self.a.tensors(limit), self.b.tensors(limit)
        return xa, xb, la

    def batches(self, batch_size: int, generator: torch.Generator, device="cpu", workers: int = 2):
        """Endless shuffled (input, target) batches, the same indices on both sides: one ImageSet with the
        two images stacked along channels does the work, in memory or streamed."""
        if self.a.in_memory and self.b.in_memory:
            both = ImageSet(self.a.labels, [], self.a.resolution, self.a.channels + self.b.channels,
                            images=torch.cat([self.a.images, self.b.images], 1))
        else:
            both = ImageSet(self.a.labels, [], self.a.resolution, self.a.channels + self.b.channels,
                            files=[fa + fb for fa, fb in zip(self.a.files, self.b.files)],
                            load=_PairLoader(self.a.load, self.b.load))
        split = self.a.channels
        for x, _ in both.batches(batch_size, generator, device, workers):
            yield x[:, :split], x[:, split:]


class _PairLoader:
    """Decode (input file, target file) into one tensor, channels stacked; picklable for workers."""

    def __init__(self, load_a, load_b):
        self.load_a, self.load_b = load_a, load_b

    def __call__(self, files: tuple[str, str]) -> torch.Tensor:
        return torch.cat([self.load_a(files[:1]), self.load_b(files[1:])])
