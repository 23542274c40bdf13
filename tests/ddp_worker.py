"""One training process of tests/test_distributed.py (under torchrun or alone): trains a
config, then writes this rank's final weights and the loss of every step, averaged over
the ranks (the global batch's loss), to OUT/rank<R>.pt."""
import os
import sys

import torch

from ppocr_ext import engine, rec_train


class Recorder:
    """The engine's loss, each step's value kept (`last` as engine.TrainLoader reads it)."""

    def __init__(self, loss, values: list):
        self.loss, self.values = loss, values

    def __call__(self, preds, batch):
        result = self.loss(preds, batch)
        self.values.append(float(result["loss"].detach()))
        return result

    @property
    def last(self) -> float:
        return self.values[-1]


def main(config: str, out: str, *overrides: str) -> None:
    built, losses = {}, []

    def build(cfg, mode):
        trainer = engine.build_trainer(cfg, mode)
        trainer.loss_class = Recorder(trainer.loss_class, losses)
        built["trainer"] = trainer
        return trainer

    rec_train.build_trainer = build
    rec_train.train(config, list(overrides))
    loss = torch.tensor(losses, dtype=torch.float64)
    rank, world = engine.rank_and_world()
    if world > 1:
        torch.distributed.all_reduce(loss)
        loss /= world
    model = built["trainer"].model
    torch.save({"state_dict": getattr(model, "module", model).state_dict(), "losses": loss,
                "world": world}, os.path.join(out, f"rank{rank}.pt"))


if __name__ == "__main__":
    main(*sys.argv[1:])
