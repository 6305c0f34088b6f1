"""Writing a preset as TOML: a fresh, commented document, or the file it was read from edited
in place so its comments, key order and value spellings survive (tomlkit).

:func:`sandbox.presets.dumps_preset` validates first and picks between the two; nothing
here validates. No Qt here.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from .corpus import DataConfig, Pair, format_alignment, parse_alignment
from .names import ATTENTIONS, CELLS, KINDS
from .preset_schema import (TEACHER_FORCING_COMMENT, TOKENIZERS, Preset, TokenizerConfig, _attrs, _data_dict,
                            _model_dict, _tokenizer_dict, _TRAINING_KEYS)
from .tomlfile import append_trivia, plain, pop_trailing_trivia, same_value, table_before, toml_text, toml_value


def _kv(key: str, value: Any, comment: str = "") -> str:
    line = f"{key} = {toml_text(value)}"
    return f"{line:<25} # {comment}" if comment else line


def _dumps_fresh(p: Preset) -> str:
    m, t, tr = p.model, p.tokenizer, p.training
    lines = [
        "# Attention Sandbox preset. Comments are kept when the app saves this file.",
        _kv("name", p.name),
        _kv("description", p.description),
        "",
        "[model]",
        _kv("kind", m.kind, " | ".join(KINDS)),
    ]
    if m.kind == "seq2seq":
        lines += [
            _kv("cell", m.cell, " | ".join(CELLS)),
            _kv("attention", m.attention, " | ".join(ATTENTIONS)),
            _kv("embed", m.embed),
            _kv("hidden", m.hidden),
        ]
        if m.encoder != "uni":
            lines.append(_kv("encoder", m.encoder, "uni | bi"))
    else:
        lines += [
            _kv("d_model", m.d_model),
            _kv("heads", m.heads, "must divide d_model"),
            _kv("layers", m.layers),
            _kv("d_ff", m.d_ff),
            _kv("dropout", m.dropout),
        ]
    lines += [
        "",
        "[tokenizer]",
        _kv("source", t.source, " | ".join(TOKENIZERS)),
        _kv("target", t.target),
    ]
    if "vocab_size" in _tokenizer_dict(t):
        lines.append(_kv("vocab_size", t.vocab_size, "subword pieces per side"))
    lines += [
        "",
        "[training]",
        _kv("steps", tr.steps),
        _kv("batch_size", tr.batch_size),
        _kv("lr", tr.lr),
        _kv("teacher_forcing", tr.teacher_forcing, TEACHER_FORCING_COMMENT),
        _kv("seed", tr.seed),
    ]
    if p.data is not None:
        d = p.data
        lines += [
            "",
            "[data]",
            _kv("file", d.file, "relative to this file; tab-separated UTF-8"),
            _kv("source_column", d.source_column, "1-based"),
            _kv("target_column", d.target_column),
            _kv("alignment_column", d.alignment_column, "0 = none; Pharaoh links i-j"),
            _kv("heldout", d.heldout, "fraction held out, drawn with training.seed"),
            _kv("max_tokens", d.max_tokens, "longer pairs are left out"),
        ]
    for pair in () if p.data is not None else p.pairs:
        lines += ["", "[[pairs]]", _kv("source", pair.source), _kv("target", pair.target)]
        if pair.alignment is not None:
            lines.append(_kv("alignment", format_alignment(pair.alignment)))
    return "\n".join(lines) + "\n"


def _sync_table(table: Any, values: Mapping[str, Any], *, prune: bool = True) -> None:
    """Set each value whose meaning changed; with ``prune``, drop keys not in ``values``."""
    if prune:
        for key in [k for k in table if k not in values]:
            del table[key]
    for key, value in values.items():
        if key not in table or not same_value(plain(table[key]), value):
            table[key] = toml_value(value, multiline=False)


def _pair_values(pair: tuple[str, str, str | None]) -> dict[str, str]:
    out = {"source": pair[0], "target": pair[1]}
    if pair[2] is not None:
        out["alignment"] = pair[2]
    return out


def _new_pair_table(pair: tuple[str, str, str | None]) -> Table:
    table = tomlkit.table()
    for k, v in _pair_values(pair).items():
        table[k] = v
    return table


def _old_pair(t: Any) -> tuple[str, str, str | None]:
    links = t.get("alignment")
    if isinstance(links, str):
        try:
            links = format_alignment(parse_alignment(links))
        except ValueError:
            pass
    return str(t["source"]).strip(), str(t["target"]).strip(), None if links is None else str(links)


def _sync_pairs(doc: Any, pairs: Sequence[Pair]) -> None:
    new = [(p.source, p.target, format_alignment(p.alignment)) for p in pairs]
    item = doc.item("pairs") if "pairs" in doc else None
    if not isinstance(item, AoT):
        if "pairs" in doc:
            del doc["pairs"]
        aot = tomlkit.aot()
        for pair in new:
            aot.append(_new_pair_table(pair))
        doc["pairs"] = aot
        return
    aot = item
    old = [_old_pair(t) for t in aot]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    # Work from the end so indices of earlier tables stay valid.
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        common = min(i2 - i1, j2 - j1)
        for offset, pair in enumerate(new[j1 + common : j2]):  # more new pairs than old
            pos = i1 + common + offset
            table = _new_pair_table(pair)
            if pos > 0:  # take over the gap (comments, blank line) after the previous table
                prev = aot[pos - 1]
                append_trivia(table, pop_trailing_trivia(prev))
                prev.value.body.append((None, tomlkit.nl()))
            elif len(aot):
                table.value.body.append((None, tomlkit.nl()))
            aot.insert(pos, table)
        for idx in range(i2 - 1, i1 + common - 1, -1):  # more old pairs than new
            trailing = pop_trailing_trivia(aot[idx])
            keeper = aot[idx - 1] if idx > 0 else table_before(doc, "pairs")
            del aot[idx]
            if keeper is not None:
                append_trivia(keeper, trailing)
        for k in range(common):  # changed pairs: edit values in place
            _sync_table(aot[i1 + k], _pair_values(new[j1 + k]))


def _dumps_in_place(p: Preset, source: str) -> str:
    doc = tomlkit.parse(source)
    _sync_table(doc, {"name": p.name}, prune=False)
    if p.description or "description" in doc:
        _sync_table(doc, {"description": p.description}, prune=False)
    _sync_table(doc["model"], _model_dict(p.model))
    tok = _tokenizer_dict(p.tokenizer)
    if "tokenizer" in doc:
        _sync_table(doc["tokenizer"], tok)
    elif p.tokenizer != TokenizerConfig():
        table = tomlkit.table()
        for k, v in tok.items():
            table[k] = v
        table.value.body.append((None, tomlkit.nl()))
        doc._insert_after("model", "tokenizer", table)
    _sync_table(doc["training"], _attrs(p.training, _TRAINING_KEYS))
    if p.data is not None:
        if "data" in doc and isinstance(doc["data"], Table):
            default, old = DataConfig(file=p.data.file), doc["data"]
            _sync_table(old, {k: v for k, v in _data_dict(p.data).items()
                              if k in old or k == "file" or v != getattr(default, k)})
        else:
            table = tomlkit.table()
            for k, v in _data_dict(p.data).items():
                table[k] = v
            doc["data"] = table
        if "pairs" in doc:
            del doc["pairs"]
    else:
        if "data" in doc:
            del doc["data"]
        _sync_pairs(doc, p.pairs)
    text = tomlkit.dumps(doc)
    if text.endswith("\n\n") and not source.endswith("\n\n"):
        text = text.rstrip("\n") + "\n"
    if "\r\n" in source and "\n" not in source.replace("\r\n", ""):
        # a Windows file stays a Windows file (tomlkit writes new lines with plain \n)
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text
