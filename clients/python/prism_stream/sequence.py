"""Turns → token ids and the assistant-target mask, exactly as ``src/sequence/build.ts`` builds them.

- a turn with ``token_ids`` contributes exactly those ids (the producer applied its chat format);
- a text turn is tokenized as prefix (role header, never a target) + body (content + end marker);
- token p is a target iff p ≥ 1 and it belongs to an assistant turn (the body, for text turns);
- sequences longer than ``max_seq_len`` keep their first tokens (``truncated``);
- no target left → ``NO_TARGET_TOKENS``; an id outside ``[0, vocab_size)`` → ``TOKEN_OUT_OF_VOCAB``.

Tokenizers: :class:`ByteTokenizer` (prism's built-in tiny models, ``"prism_tokenizer": "byte"`` in
config.json) and :class:`HfTokenizer` (``tokenizer.json`` through the ``tokenizers`` library, with the
chatml / llama3 / plain turn formats of ``src/tokenizer/hf.ts``). The shared test vectors in
``tests/fixtures/sequence-vectors.json`` prove both languages agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from tokenizers import Tokenizer

from .errors import SequenceError

BYTE_SPECIAL_TOKENS = (
    "<|pad|>",
    "<|bos|>",
    "<|end|>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|tool|>",
    "<|observation|>",
)
BYTE_VOCAB_SIZE = 256 + len(BYTE_SPECIAL_TOKENS)


def byte_special_id(token: str) -> int:
    return 256 + BYTE_SPECIAL_TOKENS.index(token)


class TurnTokenizer(Protocol):
    kind: str
    vocab_size: int

    def encode_turn(self, role: str, content: str, index: int) -> tuple[list[int], list[int]]:
        """(prefix, body) ids of one text turn."""
        ...


class ByteTokenizer:
    """ids 0-255 are UTF-8 bytes; a turn is ``<|role|>`` | content bytes + ``<|end|>``."""

    kind = "byte"
    vocab_size = BYTE_VOCAB_SIZE

    def encode_turn(self, role: str, content: str, index: int) -> tuple[list[int], list[int]]:
        return [byte_special_id(f"<|{role}|>")], [*content.encode("utf-8"), byte_special_id("<|end|>")]


TurnFormat = Literal["chatml", "llama3", "plain"]


class HfTokenizer:
    """tokenizer.json via ``tokenizers``; the turn format follows the special tokens the vocabulary has."""

    kind = "hf"

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tok = tokenizer
        self.vocab_size = max(tokenizer.get_vocab(with_added_tokens=True).values()) + 1
        self.format: TurnFormat
        if tokenizer.token_to_id("<|im_start|>") is not None:
            self.format = "chatml"
        elif tokenizer.token_to_id("<|start_header_id|>") is not None:
            self.format = "llama3"
        else:
            self.format = "plain"
        self.bos = tokenizer.token_to_id("<|begin_of_text|>")

    @classmethod
    def from_file(cls, path: str | Path) -> HfTokenizer:
        return cls(Tokenizer.from_file(str(path)))

    def encode_text(self, text: str) -> list[int]:
        return [] if text == "" else list(self.tok.encode(text, add_special_tokens=False).ids)

    def encode_turn(self, role: str, content: str, index: int) -> tuple[list[int], list[int]]:
        if self.format == "chatml":
            sep = "\n" if index > 0 else ""
            return self.encode_text(f"{sep}<|im_start|>{role}\n"), self.encode_text(f"{content}<|im_end|>")
        if self.format == "llama3":
            header = self.encode_text(f"<|start_header_id|>{role}<|end_header_id|>\n\n")
            prefix = [self.bos, *header] if index == 0 and self.bos is not None else header
            return prefix, self.encode_text(f"{content}<|eot_id|>")
        sep = "\n\n" if index > 0 else ""
        return self.encode_text(f"{sep}{role}: "), self.encode_text(content)


def load_tokenizer(model_dir: str | Path) -> TurnTokenizer | None:
    """What ``src/tokenizer/index.ts`` picks for a model folder: byte, tokenizer.json, or none."""
    d = Path(model_dir)
    config = json.loads((d / "config.json").read_text(encoding="utf-8"))
    if config.get("prism_tokenizer") == "byte":
        return ByteTokenizer()
    if (d / "tokenizer.json").exists():
        return HfTokenizer.from_file(d / "tokenizer.json")
    return None


@dataclass(frozen=True)
class BuiltSequence:
    ids: list[int]
    #: 1 where the token is a target (p ≥ 1, assistant); same length as ids.
    is_target: list[int]
    target_count: int
    truncated: bool
    #: length before truncation
    full_length: int


def _check_ids(ids: Sequence[int], vocab_size: int, turn: int) -> None:
    for i, tid in enumerate(ids):
        if not isinstance(tid, int) or isinstance(tid, bool) or tid < 0 or tid >= vocab_size:
            raise SequenceError(
                "TOKEN_OUT_OF_VOCAB",
                f"turn {turn}, token {i}: id {tid} is outside the model vocabulary [0, {vocab_size})",
            )


def build_sequence(
    turns: Sequence[Mapping[str, Any]],
    *,
    tokenizer: TurnTokenizer | None,
    vocab_size: int,
    max_seq_len: int,
) -> BuiltSequence:
    """One trajectory's turns → ids + target mask (see the module docstring for the rule)."""
    if max_seq_len < 2:
        raise ValueError(f"max_seq_len must be an integer ≥ 2, got {max_seq_len}")
    ids: list[int] = []
    target: list[int] = []
    for t, turn in enumerate(turns):
        assistant = 1 if turn["role"] == "assistant" else 0
        token_ids = turn.get("token_ids")
        if token_ids is not None:
            _check_ids(token_ids, vocab_size, t)
            ids.extend(token_ids)
            target.extend([assistant] * len(token_ids))
            continue
        if tokenizer is None:
            raise SequenceError(
                "TOKENIZER_UNAVAILABLE",
                f"turn {t} has no token_ids and the model folder has no tokenizer "
                "(add tokenizer.json or send token_ids)",
            )
        prefix, body = tokenizer.encode_turn(str(turn["role"]), str(turn["content"]), t)
        _check_ids(prefix, vocab_size, t)
        _check_ids(body, vocab_size, t)
        ids.extend(prefix)
        target.extend([0] * len(prefix))
        ids.extend(body)
        target.extend([assistant] * len(body))
    full_length = len(ids)
    n = min(full_length, max_seq_len)
    is_target = target[:n]
    if n > 0:
        is_target[0] = 0
    count = sum(is_target)
    if count == 0:
        raise SequenceError(
            "NO_TARGET_TOKENS",
            f"no assistant token within the first {n} of {full_length} tokens (max_seq_len)"
            if full_length > n
            else f"no assistant token at position ≥ 1 among {full_length} tokens",
        )
    return BuiltSequence(ids[:n], is_target, count, full_length > n, full_length)
