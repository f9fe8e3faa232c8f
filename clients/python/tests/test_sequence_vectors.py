"""The Python client builds the same ids and target masks as the TypeScript scorer (shared vectors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tokenizers import Tokenizer

from prism_stream.errors import SequenceError
from prism_stream.sequence import ByteTokenizer, HfTokenizer, TurnTokenizer, build_sequence

VECTORS = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "sequence-vectors.json"


def _load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return data


def _tokenizers(doc: dict[str, Any]) -> dict[str, TurnTokenizer]:
    out: dict[str, TurnTokenizer] = {}
    for name, spec in doc["tokenizers"].items():
        if spec["kind"] == "byte":
            out[name] = ByteTokenizer()
        else:
            out[name] = HfTokenizer(Tokenizer.from_str(json.dumps(spec["json"])))
    return out


DOC = _load()
TOKENIZERS = _tokenizers(DOC)


def test_vectors_cover_all_formats() -> None:
    formats = {t.format for t in TOKENIZERS.values() if isinstance(t, HfTokenizer)}
    assert formats == {"chatml", "llama3", "plain"}
    assert len(DOC["cases"]) >= 30


@pytest.mark.parametrize("case", DOC["cases"], ids=[c["name"] for c in DOC["cases"]])
def test_same_sequence_as_typescript(case: dict[str, Any]) -> None:
    tok = None if case["tokenizer"] is None else TOKENIZERS[case["tokenizer"]]
    if tok is not None and case["tokenizer"] != "byte":
        assert tok.vocab_size == case["vocabSize"]
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(SequenceError) as err:
            build_sequence(
                case["turns"], tokenizer=tok, vocab_size=case["vocabSize"], max_seq_len=case["maxSeqLen"]
            )
        assert err.value.code == expect["error"]
        return
    seq = build_sequence(
        case["turns"], tokenizer=tok, vocab_size=case["vocabSize"], max_seq_len=case["maxSeqLen"]
    )
    assert seq.ids == expect["ids"]
    assert seq.is_target == expect["isTarget"]
    assert seq.target_count == expect["targetCount"]
    assert seq.truncated == expect["truncated"]
    assert seq.full_length == expect["fullLength"]
