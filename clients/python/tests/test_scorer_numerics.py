"""The service's batched hook norms agree with the paper's per-trajectory loop (fp32, CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from prism_stream.scorer_service import batching
from prism_stream.scorer_service.batching import BatchStats, SeqIn, buckets, score_sequences
from prism_stream.scorer_service.model import load_probe
from prism_stream.scorer_service.norms import batched_norms, choose_method, paper_loop_norms
from prism_stream.scorer_service.testing import random_batch, torch, write_tiny

TOL = 1e-4


@pytest.fixture(scope="module", params=["llama", "qwen2", "qwen3", "mistral"])
def probe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = write_tiny(tmp_path_factory.mktemp(request.param), request.param, seed=3)
    return load_probe(folder, "cpu", "fp32")


@pytest.mark.parametrize("method", ["ghost", "outer", "auto"])
def test_batched_norms_match_the_paper_loop(probe, method: str) -> None:  # type: ignore[no-untyped-def]
    ids, tgt = random_batch(4, [37, 20, 11, 29], probe.vocab_size, seed=1)
    got = batched_norms(probe, ids, tgt, method=method)  # type: ignore[arg-type]
    ref = paper_loop_norms(probe, ids, tgt)
    assert got.norms.shape == (4, 7 * probe.num_layers)
    rel = ((got.norms - ref.norms).abs() / ref.norms).max().item()
    assert rel < TOL, f"{method}: max relative norm difference {rel}"
    assert torch.allclose(got.loss, ref.loss, rtol=TOL)
    assert got.targets.tolist() == ref.targets.tolist()
    assert all(not p.weight.requires_grad and p.weight.grad is None for p in probe.projections)


def test_loss_matches_transformers_cross_entropy(probe) -> None:  # type: ignore[no-untyped-def]
    ids, tgt = random_batch(1, [25], probe.vocab_size, seed=2)
    tgt[:] = True
    tgt[0, 0] = False
    got = batched_norms(probe, ids, tgt, loss_chunk=7)  # several chunks
    with torch.no_grad():
        ref = probe.model(input_ids=ids, labels=ids).loss  # HF shifts labels: mean over positions 1..T-1
    assert abs(got.loss[0].item() - ref.item()) < 1e-5


def test_padding_does_not_change_a_row(probe) -> None:  # type: ignore[no-untyped-def]
    ids, tgt = random_batch(2, [30, 12], probe.vocab_size, seed=4)
    both = batched_norms(probe, ids, tgt).norms[1]
    alone = batched_norms(probe, ids[1:, :12], tgt[1:, :12]).norms[0]
    assert ((both - alone).abs() / alone).max().item() < TOL


def test_choose_method_by_cost() -> None:
    assert choose_method(64, 4096, 4096, "auto") == "ghost"
    assert choose_method(8192, 4096, 1024, "auto") == "outer"
    assert choose_method(8192, 4096, 1024, "ghost") == "ghost"


def _seqs(vocab: int, lengths: list[int]) -> list[SeqIn]:
    rng = np.random.default_rng(0)
    out = []
    for n in lengths:
        tg = np.zeros(n, np.uint8)
        tg[n // 2 :] = 1
        out.append(SeqIn(rng.integers(0, vocab, n, dtype=np.int32), tg))
    return out


def test_buckets_respect_rows_and_tokens() -> None:
    lengths = [10, 50, 20, 40, 30]
    bs = buckets(lengths, max_rows=2, max_tokens=80)
    assert sorted(i for b in bs for i in b) == list(range(5))
    for b in bs:
        assert (len(b) <= 2 and len(b) * max(lengths[i] for i in b) <= 80) or len(b) == 1


def test_bad_sequences_get_codes_and_the_rest_is_scored(probe) -> None:  # type: ignore[no-untyped-def]
    good = _seqs(probe.vocab_size, [12, 9])
    oov = SeqIn(np.array([1, probe.vocab_size, 2], np.int32), np.array([0, 1, 1], np.uint8))
    none = SeqIn(np.array([1, 2, 3], np.int32), np.array([1, 0, 0], np.uint8))
    short = SeqIn(np.array([1], np.int32), np.array([1], np.uint8))
    outs = score_sequences(probe, [good[0], oov, none, short, good[1]])
    assert [o.error_code for o in outs] == [
        None,
        "TOKEN_OUT_OF_VOCAB",
        "NO_TARGET_TOKENS",
        "SEQUENCE_TOO_SHORT",
        None,
    ]
    assert outs[0].norms is not None and np.all(np.isfinite(outs[0].norms))


def test_oom_splits_the_batch_and_never_drops(probe, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    real = batching.batched_norms

    def fake(p, ids, tgt, method="auto"):  # type: ignore[no-untyped-def]
        if ids.shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(p, ids, tgt, method=method)

    monkeypatch.setattr(batching, "batched_norms", fake)
    seqs = _seqs(probe.vocab_size, [8, 9, 10, 11])
    stats = BatchStats()
    outs = score_sequences(probe, seqs, max_rows=4, max_tokens=1000, stats=stats)
    assert all(o.error_code is None for o in outs)
    assert stats.oom_splits == 3 and stats.forward_backward == 7


def test_a_single_sequence_that_never_fits_is_a_typed_error(probe, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    def always(*_a, **_k):  # type: ignore[no-untyped-def]
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(batching, "batched_norms", always)
    outs = score_sequences(probe, _seqs(probe.vocab_size, [8, 9]))
    assert [o.error_code for o in outs] == ["SCORER_OOM", "SCORER_OOM"]


def test_service_path_equals_loop_in_input_order(probe) -> None:  # type: ignore[no-untyped-def]
    seqs = _seqs(probe.vocab_size, [30, 6, 18, 6, 25])
    outs = score_sequences(probe, seqs, max_rows=2, max_tokens=64)
    for s, o in zip(seqs, outs, strict=True):
        ids = torch.from_numpy(s.ids.astype(np.int64))[None]
        tg = torch.from_numpy(s.target.astype(np.bool_))[None]
        ref = paper_loop_norms(probe, ids, tg).norms[0].numpy()
        assert o.norms is not None
        assert np.max(np.abs(o.norms - ref) / ref) < TOL


def test_prism_init_folder_loads(tmp_path: Path) -> None:
    """A `prism model init`-style folder (extra prism_tokenizer key) loads with transformers."""
    folder = write_tiny(tmp_path / "m", "llama")
    import json

    cfg = json.loads((folder / "config.json").read_text())
    cfg["prism_tokenizer"] = "byte"
    (folder / "config.json").write_text(json.dumps(cfg))
    p = load_probe(folder, "cpu")
    assert p.dtype == "fp32" and len(p.projections) == 14
    assert p.identity.version.startswith("sha-") and len(p.identity.version) == 16
