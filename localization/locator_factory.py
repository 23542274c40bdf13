"""Config -> ready Locator: `build_locator` fits what is missing (resumable),
`load_locator` only loads, for the read path.

A trained classifier + DDT projection (`model.checkpoint`, which also keeps the line
head) or PSOL regressor (`psol.checkpoint`) found on disk is reused, not retrained,
unless `train.force` / `line_head.force` / `psol.force` is set. Train frames are decoded
only when something has to be fitted.

Reading frames never trains: `load_locator` refuses a missing checkpoint (or a missing
line head) with `MissingCheckpoint`, naming the file and the command that fits it
(`python tools/localize.py -c CONFIG`, or `make localize`).
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch

from common.errors import UserError
from common.hardware import bf16_where_native
from localization.frame_records import list_frames
from localization.line_head import line_targets, train_line_head
from localization.locator import METHODS, Locator, WorkParams
from localization.training import (WorkSet, fit_projection, load_classifier, load_line_head,
                                   load_regressor, load_work_set, margins_from, pseudo_boxes,
                                   save_classifier, save_regressor, train_classifier,
                                   train_regressor)

log = logging.getLogger(__name__)
TRAIN_COMMAND = "python tools/localize.py -c CONFIG [-o ...]"


class MissingCheckpoint(UserError, FileNotFoundError):
    """The read path found no trained localiser where the config points; the message
    names the file and the command that trains it."""


def work_params(config: dict) -> WorkParams:
    return WorkParams(**config["work"])


def data_path(config: dict, key: str) -> Path:
    return Path(config["data"]["root"]) / config["data"][key]


def _work_set(config: dict, cache: dict) -> WorkSet:
    if "work_set" not in cache:
        train = config["train"]
        records = list_frames(data_path(config, "train_dir"), data_path(config, "train_labels"))
        for folder in config["data"]["fit_extra"]:   # other looks to fit on (frames of the wild)
            records += list_frames(folder)
        cache["work_set"] = load_work_set(records, work_params(config), train["low_res_factor"],
                                          tuple(train["low_res_jpeg"]), train["max_frames"],
                                          train["seed"])
    return cache["work_set"]


def build_locator(config: dict, method: str | None = None, decision: str | None = None,
                  id_line: bool | None = None) -> Locator:
    """The Locator for `method` (default: config's), fitting and saving what is missing.
    `decision` and `id_line` default to the config's `ddt.decision` and `output.id_line`."""
    return _locator(config, method, decision, id_line, None)


def load_locator(config: dict, method: str | None = None, decision: str | None = None,
                 id_line: bool | None = None, train_command: str = TRAIN_COMMAND) -> Locator:
    """The same Locator as `build_locator` from checkpoints on disk, never fitting one:
    a missing checkpoint raises `MissingCheckpoint` naming it and `train_command` (the
    command line that fits it with this config)."""
    return _locator(config, method, decision, id_line, train_command)


def _missing(what: str, path: Path, train_command: str) -> MissingCheckpoint:
    return MissingCheckpoint(f"{path}: no {what} (the localiser is never trained while "
                             f"reading); train it first with `{train_command}` (or `make "
                             "localize`), or point the config's checkpoint keys at a trained "
                             "one (-o model.checkpoint=... psol.checkpoint=...)")


def _locator(config: dict, method: str | None, decision: str | None, id_line: bool | None,
             train_command: str | None) -> Locator:
    """`train_command` None: fit what is missing; else refuse it, naming that command."""
    method = method or config["method"]
    if method not in METHODS:   # before anything is fitted
        raise ValueError(f"unknown localisation method {method!r}; choose from {', '.join(METHODS)}")
    id_line = config["output"]["id_line"] if id_line is None else id_line
    use_head = id_line and config["line_head"]["use"]
    work, ddt = work_params(config), config["ddt"]
    margins = margins_from(config)
    if method == "direct":
        return Locator("direct", work, margins)
    fit = train_command is None
    if fit:
        torch.set_num_threads(int(config["train"]["threads"]))
    cache: dict = {}
    train, model_cfg = config["train"], config["model"]
    checkpoint = Path(model_cfg["checkpoint"])
    if checkpoint.is_file() and not (fit and train["force"]):
        log.info("reusing strip classifier + DDT projection from %s", checkpoint)
        classifier, projection = load_classifier(checkpoint, work)
        head = load_line_head(checkpoint)
    elif not fit:
        raise _missing("strip classifier + DDT checkpoint (model.checkpoint)", checkpoint,
                       train_command)
    else:
        work_set = _work_set(config, cache)
        classifier = train_classifier(work_set, work, model_cfg["channels"], train["steps"],
                                      train["batch_size"], train["lr"], train["seed"],
                                      bf16_where_native(train["bf16"], key="train.bf16"))
        projection = fit_projection(classifier, work_set, work, train["batch_size"],
                                    ddt["orient_pairs"], train["seed"])
        head = None
        save_classifier(checkpoint, classifier, projection, work)
        log.info("saved strip classifier + DDT projection to %s", checkpoint)
    common = dict(classifier=classifier, projection=projection,
                  partner_strips=tuple(ddt["partner_strips"]), threshold=ddt["threshold"],
                  join_gap=ddt["join_gap"], pick=ddt["pick"],
                  side_peak_weight=ddt["side_peak_weight"],
                  bf16=bf16_where_native(config["inference"]["bf16"], key="inference.bf16"))
    if use_head and (head is None or (fit and config["line_head"]["force"])):
        if not fit:
            raise _missing("line head in the classifier checkpoint (line_head.use is true)",
                           checkpoint, train_command)
        head = _fit_line_head(config, cache, Locator("ddt", work, margins, **common))
        save_classifier(checkpoint, classifier, projection, work, head)
        log.info("saved the line head with the classifier in %s", checkpoint)
    regressor = None
    if method == "psol":
        psol = config["psol"]
        psol_checkpoint = Path(psol["checkpoint"])
        if psol_checkpoint.is_file() and not (fit and psol["force"]):
            log.info("reusing PSOL box regressor from %s", psol_checkpoint)
            regressor = load_regressor(psol_checkpoint, work)
        elif not fit:
            raise _missing("PSOL box regressor checkpoint (psol.checkpoint)", psol_checkpoint,
                           train_command)
        else:
            teacher = Locator("ddt", work, margins, decision="classifier", **common)
            targets = pseudo_boxes(teacher, _work_set(config, cache))
            regressor = train_regressor(targets, model_cfg["channels"], psol["steps"],
                                        psol["batch_size"], psol["lr"], train["seed"],
                                        bf16_where_native(train["bf16"], key="train.bf16"))
            save_regressor(psol_checkpoint, regressor, work)
            log.info("saved PSOL box regressor to %s", psol_checkpoint)
    torch.set_num_threads(int(config["inference"]["threads"]))
    return Locator(method, work, margins, regressor=regressor,
                   decision=decision or ddt["decision"], id_line=id_line,
                   line_head=head if use_head else None, **common)


def _fit_line_head(config: dict, cache: dict, teacher: Locator):
    """The line head, taught by `teacher` (the rule's ID lines) on the train frames."""
    head_cfg, train = config["line_head"], config["train"]
    targets = line_targets(teacher, _work_set(config, cache))
    return train_line_head(teacher, targets, head_cfg["steps"], head_cfg["batch_size"],
                           head_cfg["lr"], train["seed"])
