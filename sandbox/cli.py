"""Command line: ``python main.py [trace|beam|train|pairs|evaluate|render|lecture|presets|bottleneck] ...``.

This module knows the Qt-free commands. The ones that draw (``render``, ``lecture``,
``bottleneck``, and the window itself when no subcommand is given) live in ``widgets/``;
``main.py`` passes them in as ``"module:function"`` names, so the core never imports the
Qt side. Heavy imports (torch, Qt) happen inside the handlers, so ``python main.py`` can
show its window before torch has loaded.

Every bad input (a broken preset, an unknown name, an empty sentence, a corrupt checkpoint,
an unwritable output path) is reported as one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

if TYPE_CHECKING:
    from .train import Metrics

EXIT_BAD_INPUT = 2


class UserError(Exception):
    """A problem with what the user asked for; printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="attention-sandbox",
        description="Train toy seq2seq and Transformer models and step through their attention.",
    )
    ap.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("trace", help="trace one sentence pair and write the trace JSON")
    p.add_argument("--preset", required=True, help="a preset name (see `presets`) or a .toml path")
    p.add_argument("--source", required=True, help="source sentence")
    p.add_argument("--target", help="target sentence (default: the preset's gold target when the source "
                                  "is one of its pairs, else free running)")
    p.add_argument("--mode", choices=["teacher_forcing", "free_running"], default="teacher_forcing")
    p.add_argument("--checkpoint", help="trained weights from `train` (default: untrained, seeded)")
    p.add_argument("--json", required=True, metavar="OUT", help="output file, or - for stdout")
    _add_whatif_flags(p)
    p.set_defaults(handler=cmd_trace)

    p = sub.add_parser("beam", help="beam search: the best translations and a trace along each")
    p.add_argument("--preset", required=True, help="a preset name (see `presets`) or a .toml path")
    p.add_argument("--source", required=True, help="source sentence")
    p.add_argument("--width", required=True, type=int, metavar="K", help="beam width (1 = greedy)")
    p.add_argument("--checkpoint", help="trained weights from `train` (default: untrained, seeded)")
    p.add_argument("--max-len", type=int, help="most decoder steps (default: as free running)")
    p.add_argument("--length-penalty", type=float, default=0.0, metavar="ALPHA",
                   help="rank by log_prob / length^ALPHA (default 0: no penalty)")
    p.add_argument("--json", required=True, metavar="OUT", help="output file, or - for stdout")
    p.set_defaults(handler=cmd_beam)

    p = sub.add_parser("presets", help="list shipped and user presets")
    p.set_defaults(handler=cmd_presets)

    p = sub.add_parser("train", help="train a preset's model and save a checkpoint")
    p.add_argument("--preset", required=True)
    p.add_argument("--steps", type=int, help="override the preset's training steps")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--seed", type=int, help="override the preset's seed")
    p.add_argument("--out", required=True, help="checkpoint file to write")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("pairs", help="write a preset's sentence pairs (a split of its corpus) as JSON")
    p.add_argument("--preset", required=True)
    p.add_argument("--split", choices=["train", "heldout", "all"], default="all")
    p.add_argument("--json", required=True, metavar="OUT", help="output file, or - for stdout")
    p.set_defaults(handler=cmd_pairs)

    p = sub.add_parser("evaluate", help="score a checkpoint: exact match, token accuracy, chrF, BLEU, alignment")
    p.add_argument("--preset", required=True)
    p.add_argument("--checkpoint", required=True, help="trained weights from `train`")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--split", choices=["heldout", "train", "all"], help="which of the preset's pairs (default heldout)")
    which.add_argument("--data", metavar="FILE.tsv", help="score the pairs of this file: source<TAB>target[<TAB>alignment]")
    p.add_argument("--json", required=True, metavar="OUT", help="output file, or - for stdout")
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("render", help="render the window's views at one step to a PNG, offscreen")
    p.add_argument("--preset", required=True)
    p.add_argument("--source", help="source sentence (default: the preset's first pair)")
    p.add_argument("--target")
    p.add_argument("--mode", choices=["teacher_forcing", "free_running"], default="teacher_forcing")
    p.add_argument("--checkpoint")
    p.add_argument("--step", type=int, default=0)
    p.add_argument("--layer", type=int, default=0)
    p.add_argument("--head", type=int, default=0)
    p.add_argument("--out", required=True, help="output .png (or .svg)")
    _add_whatif_flags(p)
    p.set_defaults(handler=_from_caller("render"))

    p = sub.add_parser("lecture", help="export a lecture's slides to PNGs and a PDF handout, "
                                       "or check its claims")
    p.add_argument("lecture", help="a shipped lecture name or a .toml path")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--export", metavar="DIR", help="write slide PNGs and handout.pdf into DIR")
    what.add_argument("--check", action="store_true",
                      help="train (or load) the lecture's models and print every slide claim that "
                           "fails; exit 0 all hold, 1 one fails, 2 bad input")
    p.add_argument("--seeds", default="0", help="with --check: seeds to train, e.g. 0,1,2 or 0-4 (default 0)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"],
                   help="where to train and run the models (default: the lecture's [train] device, cpu)")
    p.add_argument("--lang", choices=["ko", "en"], default="en")
    p.set_defaults(handler=_from_caller("lecture"))

    p = sub.add_parser("bottleneck", help="run the fixed-context bottleneck experiment")
    p.add_argument("--json", required=True, metavar="OUT")
    p.add_argument("--quick", action="store_true", help="a smaller, faster run")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_from_caller("bottleneck"))
    return ap


def _add_whatif_flags(p: argparse.ArgumentParser) -> None:
    """``--force T=TOKEN``, ``--pin T=J``, ``--hide-source J`` (DESIGN.md, What-if)."""
    p.add_argument("--force", action="append", default=[], metavar="T=TOKEN",
                   help="what if step T had output TOKEN (repeatable); step T+1 reads it")
    p.add_argument("--pin", action="append", default=[], metavar="T=J",
                   help="put all of step T's cross attention on source token J (0-based; repeatable)")
    p.add_argument("--hide-source", action="append", default=[], metavar="J",
                   help="mask source token J from every cross attention (repeatable)")


def _lazy(target: str) -> Callable[..., int]:
    """A handler that imports ``"module:function"`` only when it runs."""

    def handler(*args: Any) -> int:
        import importlib

        module, name = target.split(":")
        return getattr(importlib.import_module(module), name)(*args)

    return handler


def _from_caller(command: str) -> str:
    """Placeholder for a command whose handler the caller of :func:`main` supplies."""
    return command


def load_bundle(preset_name: str, checkpoint: str | None = None, device: str = "cpu"):
    """The preset (a name or a path) as a Bundle, with trained weights if given."""
    from .model import Bundle
    from .presets import find_preset, load_preset

    preset = load_preset(find_preset(preset_name))
    if checkpoint is not None:
        if not checkpoint.strip():
            raise UserError("--checkpoint: the file name is empty")
        from .checkpoint import load_checkpoint

        return load_checkpoint(checkpoint, preset=preset, device=device)
    return Bundle.from_preset(preset, device=device)


def pick_target(preset, source: str, target: str | None, mode: str) -> tuple[str | None, str, str | None, str]:
    """What to trace when the user gave a source and maybe no target.

    Returns ``(target, mode, target_from, note)``. A given target is used as it is. With
    none, the preset's gold target is used when the source is one of its pairs (same tokens
    after :func:`sandbox.text.normalize`; the first such pair), else there is no target and
    teacher forcing becomes free running. ``target_from`` is "given", "preset" or None;
    ``note`` says in one line what was chosen ("" when a target was given).
    """
    from .text import normalize
    from .vocab import tokenize

    if target is not None and normalize(target):
        return target, mode, "given", ""
    kind = preset.tokenizer.source
    kind = "word" if kind not in ("word", "char") else kind  # subword: compare words
    want = tokenize(normalize(source), kind)
    corpus = getattr(preset, "data", None) is not None
    for i, pair in enumerate(getattr(preset, "all_pairs", preset.pairs)):  # held-out pairs too
        if tokenize(normalize(pair.source), kind) == want:
            where = f"corpus pair {i}" if corpus else f"pairs[{i}]"
            return (pair.target, mode, "preset",
                    f"no target given: using the preset's gold target of {where} "
                    f"({pair.target!r}); {mode.replace('_', ' ')}")
    if mode == "teacher_forcing":
        return (None, "free_running", None,
                "no target given and the source is not one of the preset's pairs: free running "
                "(each step is fed the model's own prediction; no gold to compare)")
    return None, mode, None, "no target given: free running without gold"


def write_output(text: str, out: str) -> None:
    """Write ``text`` to a file atomically, or to stdout for ``-``."""
    if out == "-":
        # UTF-8 whatever the terminal's locale says: the trace JSON is UTF-8 in a file too.
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # a text-only stream (tests, embedding hosts)
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        sys.stdout.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
        return
    from .fileio import atomic_write_text

    try:
        atomic_write_text(Path(out), text)
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror or e}") from None


def cmd_trace(args: argparse.Namespace) -> int:
    from .presets import MAX_SENTENCE_CHARS
    from .text import normalize

    if not normalize(args.source):
        raise UserError("--source: the source sentence is empty"
                        + (" (only invisible zero-width characters)" if args.source.strip() else ""))
    for flag, text in (("--source", args.source), ("--target", args.target)):
        # The limit a preset's sentences have, on the same normalised text; a trace's size
        # grows with length × steps.
        n = len(normalize(text)) if text is not None else 0
        if n > MAX_SENTENCE_CHARS:
            raise UserError(f"{flag}: the sentence is {n} characters long (after Unicode "
                            f"normalisation); at most {MAX_SENTENCE_CHARS} are allowed (as in a preset)")
    interventions = _interventions(args)
    bundle = load_bundle(args.preset, args.checkpoint)
    target, mode, target_from, note = pick_target(bundle.preset, args.source, args.target, args.mode)
    tr = trace_with_flags(bundle, args.source, target, mode, interventions)
    if target_from is not None and tr.target_from != target_from:
        import dataclasses

        tr = dataclasses.replace(tr, target_from=target_from)
    write_output(tr.dumps() + "\n", args.json)
    if note:
        print(note, file=sys.stderr)
    if tr.has_unknown:
        print(f"warning: unknown tokens became <unk>: source {list(tr.source_unknown)}, "
              f"target {list(tr.target_unknown)}", file=sys.stderr)
    return 0


def cmd_pairs(args: argparse.Namespace) -> int:
    """``pairs --preset P [--split train|heldout|all] --json OUT`` (the pairs@1 JSON)."""
    import json

    from .evaluate import pairs_json
    from .presets import find_preset, load_preset

    preset = load_preset(find_preset(args.preset))
    out = pairs_json(preset, args.split)
    write_output(json.dumps(out, ensure_ascii=False) + "\n", args.json)
    if preset.skipped or preset.too_long:
        print(f"{len(preset.skipped)} lines skipped, {preset.too_long} pairs over max_tokens left out, "
              f"{preset.duplicates} duplicates dropped", file=sys.stderr)
    return 0


def read_eval_file(path: str, preset):
    """The pairs of ``evaluate --data FILE``: source<TAB>target[<TAB>alignment] per line."""
    from .corpus import CorpusError, DataConfig, read_corpus
    from .trace import MAX_STEPS

    if not path.strip():
        raise UserError("--data: the file name is empty")
    cfg = DataConfig(file=path, source_column=1, target_column=2, alignment_column=3, heldout=0.0,
                     max_tokens=MAX_STEPS // 2 - 1)
    kinds = (preset.tokenizer.source, preset.tokenizer.target)
    try:
        corpus = read_corpus(path, cfg, kinds, optional_alignment=True, keep_duplicates=True)
    except CorpusError as e:
        raise UserError(f"--data: {e}") from None
    for line, reason in corpus.skipped[:5]:
        print(f"{path}:{line}: skipped: {reason}", file=sys.stderr)
    if len(corpus.skipped) > 5:
        print(f"{path}: {len(corpus.skipped) - 5} more lines skipped", file=sys.stderr)
    if not corpus.pairs:
        raise UserError(f"--data: {path} holds no usable sentence pairs")
    return corpus


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``evaluate --preset P --checkpoint C [--split S | --data FILE] --json OUT``."""
    import json

    from .evaluate import evaluate

    bundle = load_bundle(args.preset, args.checkpoint)
    if args.data is not None:
        corpus = read_eval_file(args.data, bundle.preset)
        pairs, label = corpus.pairs, args.data
    else:
        split = args.split or "heldout"
        pairs, label = bundle.preset.split(split), split
        if split == "heldout" and not bundle.preset.heldout_pairs:
            print("note: this preset holds no pairs out; scoring its training pairs", file=sys.stderr)
    result = evaluate(bundle, pairs)
    result["split"] = label if args.data is None else None
    if args.data is not None:
        result["data"] = args.data
        result["skipped"] = [{"line": n, "reason": r} for n, r in corpus.skipped]
    write_output(json.dumps(result, ensure_ascii=False) + "\n", args.json)
    a = result["alignment"]
    align = "" if a is None else f" · alignment {100 * a['accuracy']:.1f}% (AER {a['aer']:.3f})"
    print(f"{result['pairs']} pairs ({label}): exact {100 * result['exact_match']:.1f}% · "
          f"token acc {100 * result['token_accuracy']:.1f}% · chrF {result['chrf']:.1f} · "
          f"BLEU {result['bleu']:.1f}{align}", file=sys.stderr)
    return 0


def interventions_from_args(args: argparse.Namespace):
    """The What-if flags as an Interventions value, or None when there are none."""
    iv = _interventions(args)
    return None if iv.empty else iv


def trace_with_flags(bundle, source: str, target: str | None, mode: str, interventions):
    """trace() with What-if edits; an edit that cannot apply names its flag (UserError)."""
    from .trace import trace
    from .whatif import WhatIfError

    try:
        return trace(bundle, source, target, mode=mode, interventions=interventions)
    except WhatIfError as e:  # name the flag: "force 9=cat: ..." -> "--force 9=cat: ..."
        msg = str(e)
        raise UserError(("--" + msg) if msg.split(" ")[0].rstrip(":") in ("force", "pin", "hide-source")
                        else msg) from None


def _interventions(args: argparse.Namespace):
    """The What-if flags of ``trace`` as an Interventions value (UserError when malformed)."""
    from .whatif import Interventions, Pin, WhatIfError, parse_step_value

    try:
        force: dict[int, str] = {}
        for text in args.force:
            t, tok = parse_step_value(text, "--force", "TOKEN")
            if t in force:
                raise WhatIfError(f"--force {text!r}: step {t} is forced twice")
            force[t] = tok
        pins = []
        for text in args.pin:
            t, j = parse_step_value(text, "--pin", "J")
            if not j.isdigit():
                raise WhatIfError(f"--pin {text!r}: J must be a source token index (0, 1, ...)")
            pins.append(Pin(t, int(j)))
        hide = set()
        for text in args.hide_source:
            if not text.strip().isdigit():
                raise WhatIfError(f"--hide-source {text!r}: expected a source token index (0, 1, ...)")
            hide.add(int(text))
        return Interventions(force, tuple(pins), frozenset(hide))
    except WhatIfError as e:
        raise UserError(str(e)) from None


def cmd_beam(args: argparse.Namespace) -> int:
    from .presets import MAX_SENTENCE_CHARS
    from .whatif import beam_search

    if not args.source.strip():
        raise UserError("--source: the source sentence is empty")
    if len(args.source.strip()) > MAX_SENTENCE_CHARS:
        raise UserError(f"--source: the sentence is {len(args.source.strip())} characters long; "
                        f"at most {MAX_SENTENCE_CHARS} are allowed (as in a preset)")
    bundle = load_bundle(args.preset, args.checkpoint)
    res = beam_search(bundle, args.source, args.width, max_len=args.max_len,
                      length_penalty=args.length_penalty)
    import json

    text = json.dumps(res.to_json(bundle.preset.key), ensure_ascii=False, allow_nan=False)
    write_output(text + "\n", args.json)
    return 0


class _Progress:
    """A plain-text progress bar on stderr: redrawn in place on a terminal (≤ 10 times a
    second), one line every ~10% otherwise."""

    WIDTH = 24

    def __init__(self, total: int, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.total = max(total, 1)
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self._last_draw = 0.0
        self._next_mark = 1
        self._drawn = False

    def line(self, m: "Metrics") -> str:
        frac = min(m.step / self.total, 1.0)
        fill = int(round(frac * self.WIDTH))
        exact = "  -  " if m.exact_match is None else f"{100 * m.exact_match:5.1f}%"
        return (f"[{'#' * fill}{'.' * (self.WIDTH - fill)}] {m.step}/{m.steps} "
                f"loss {m.loss:.4f} acc {100 * m.token_accuracy:5.1f}% exact {exact} "
                f"{m.steps_per_sec:.0f} steps/s"
                + (f" fed gold {100 * m.fed_gold:.0f}%" if getattr(m, "fed_gold", 1.0) < 1.0 else ""))

    def __call__(self, m: "Metrics") -> None:
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or m.step >= m.steps:
                self.stream.write("\r" + self.line(m) + "\x1b[K")
                self.stream.flush()
                self._last_draw, self._drawn = now, True
        else:
            mark = int(10 * m.step / self.total)
            if mark >= self._next_mark:
                self.stream.write(self.line(m) + "\n")
                self.stream.flush()
                self._next_mark = mark + 1

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def _check_writable(out: str) -> Path:
    path = Path(out)
    if not out.strip():
        raise ValueError("--out: the checkpoint path is empty")
    if path.is_dir():
        raise ValueError(f"{out}: is a directory; give a checkpoint file name")
    parent = path.parent
    if not parent.is_dir():
        raise ValueError(f"{out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{out}: the folder {parent} is not writable")
    from .shipped import refuse_shipped

    refuse_shipped(path, "checkpoint")  # before training, not after it
    return path


def cmd_train(args: argparse.Namespace) -> int:
    """``python main.py train --preset P [--steps N] [--device D] [--seed S] --out FILE``."""
    from .checkpoint import save_checkpoint
    from .device import resolve_device
    from .train import EVAL_MAX_PAIRS, Trainer

    out = _check_writable(args.out)
    device = resolve_device(args.device)  # a CUDA problem is reported before any loading
    bundle = load_bundle(args.preset, None, device="cpu")
    trainer = Trainer(bundle, steps=args.steps, device=str(device), seed=args.seed)
    bar = _Progress(trainer.total_steps)
    try:
        result = trainer.run(progress=bar)
    finally:
        bar.close()
    if result.status == "nonfinite":
        raise UserError(f"{result.message} Nothing was saved.")
    m = result.metrics
    assert m is not None
    save_checkpoint(trainer.bundle, out, metrics=m)
    n = min(trainer.pairs_count, EVAL_MAX_PAIRS)
    hits = round((m.exact_match or 0.0) * n)
    held = "" if m.heldout_exact is None else f" · held-out exact {100 * m.heldout_exact:.1f}%"
    print(f"trained {trainer.bundle.preset.key}: {m.step} steps in {m.elapsed:.1f} s "
          f"({m.steps_per_sec:.0f} steps/s, {trainer.device.type}) · loss {m.loss:.3g} · "
          f"token acc {100 * m.token_accuracy:.1f}% · "
          f"exact match {100 * (m.exact_match or 0.0):.1f}% ({hits}/{n}){held} · saved {out}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from .presets import PresetError, list_presets, load_preset

    for key, path, is_user in list_presets():
        try:
            p = load_preset(path)
            m = p.model
            what = (f"{m.kind} {m.cell}/{m.attention}" if m.kind == "seq2seq"
                    else f"transformer {m.layers}L×{m.heads}H d={m.d_model}")
            line = f"{key:<24} {what:<26} {len(p.pairs):>3} pairs  {p.name}"
        except PresetError as e:
            line = f"{key:<24} BROKEN: {e}"
        print(line + ("  [user]" if is_user else ""))
    return 0


def main(argv: Sequence[str] | None = None, commands: Mapping[str | None, str] | None = None) -> int:
    """Run the command line. ``commands`` maps the drawing commands (``render``, ``lecture``,
    ``bottleneck``, and ``None`` for the window) to ``"module:function"`` names."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = dict(commands or {})
    ap = _parser()
    args = ap.parse_args(argv)
    if args.command is None:
        if None not in commands:
            ap.error("no window is available here; run `python main.py` or give a command")
        return int(_lazy(commands[None])() or 0)
    handler = args.handler
    if args.command == "lecture" and getattr(args, "check", False):
        handler = _lazy("sandbox.lecture_check:cli_check")  # Qt-free
    if isinstance(handler, str):  # a drawing command: its handler comes from the caller
        if handler not in commands:
            ap.error(f"`{handler}` needs the window package; run it as `python main.py {handler} ...`")
        handler = _lazy(commands[handler])
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the one place that turns errors into messages
        if args.debug or os.environ.get("ATTENTION_SANDBOX_DEBUG"):
            raise
        print(f"error: {describe_error(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT if is_user_error(e) else 1


def is_user_error(e: BaseException) -> bool:
    from .presets import PresetError

    known: tuple[type[BaseException], ...] = (UserError, PresetError, ValueError, OSError)
    try:
        from .checkpoint import CheckpointError

        known += (CheckpointError,)
    except ImportError:
        pass
    return isinstance(e, known)


def describe_error(e: BaseException) -> str:
    if isinstance(e, OSError) and e.filename:
        return f"{e.filename}: {e.strerror or e}"
    msg = str(e).strip() or type(e).__name__
    return msg.splitlines()[0] if not is_user_error(e) else " ".join(msg.split("\n"))
