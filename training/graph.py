"""The whole training step as one CUDA graph.

With these small networks a GPU spends most of a step waiting for Python to launch hundreds of
kernels (docs/performance.md). A CUDA graph records them once and replays them with one launch:
the step's inputs live in static tensors that are refilled before each replay, Adam runs with
``capturable=True``, and nothing inside the step reads a value back to the host (see
training/step.py).

The first WARMUP calls run eagerly on a side stream (cuDNN and the allocator settle, autograd
builds its buffers), the next one records the graph and replays it, every later one only
replays; each call is one real training step. If recording fails, the step runs eagerly from
then on and the run says so.
"""
from __future__ import annotations

import logging

import torch

from training.step import GANStep, StepInputs

log = logging.getLogger("ganzoo.train")
WARMUP = 3


class CUDAGraphStep:
    def __init__(self, step: GANStep):
        self.step = step
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static_in: StepInputs | None = None
        self.static_out: torch.Tensor | None = None
        self.eager = False                      # recording failed: run eagerly
        self.stream = torch.cuda.Stream()

    def _fill(self, inp: StepInputs) -> None:
        if self.static_in is None:              # the first inputs become the static ones
            self.static_in = inp
            return
        for dst, src in zip(self.static_in.tensors(), inp.tensors()):
            dst.copy_(src, non_blocking=True)

    def __call__(self, inp: StepInputs) -> torch.Tensor:
        if self.eager:
            return self.step(inp)
        self._fill(inp)
        self.calls += 1
        if self.calls <= WARMUP:
            self.stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.stream):
                out = self.step(self.static_in)
            torch.cuda.current_stream().wait_stream(self.stream)
            return out
        if self.graph is None:
            graph = torch.cuda.CUDAGraph()
            try:
                with torch.cuda.graph(graph):
                    self.static_out = self.step(self.static_in)
            except RuntimeError as e:
                log.warning("the training step could not be recorded as a CUDA graph (%s); it runs eagerly "
                            "from here on (cuda_graph=false says so up front)", str(e).splitlines()[0])
                self.eager = True
                torch.cuda.synchronize()
                self.step.D.requires_grad_(True)   # the recording may have stopped inside G's step
                return self.step(inp)
            self.graph = graph
        self.graph.replay()
        return self.static_out.clone()         # the next replay overwrites static_out
