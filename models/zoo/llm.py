"""Decoder-only LLMs (Llama 3.x): one prefill chunk or one decode step as an operator graph.

Architecture (Llama 3): token embedding; per layer RMSNorm -> Q, K, V projections (grouped-query
attention: ``kv_heads`` key/value heads shared by ``heads / kv_heads`` query heads) -> RoPE on Q
and K -> causal attention over the KV cache -> output projection -> residual add -> RMSNorm ->
SwiGLU FFN (``down(silu(gate(x)) * up(x))``) -> residual add; final RMSNorm and the output
projection to the vocabulary (tied to the embedding in the 3.2 models). 15 ops per layer.

Architecture numbers are those of the published ``config.json`` files on Hugging Face
(meta-llama/Llama-3.2-1B, Llama-3.2-3B, Llama-3.1-8B); parameter counts from the model cards
(Llama 3.2: "1B (1.23B)", "3B (3.21B)", shared embeddings; Llama 3.1 8B: 8.03B).

Phases
------
* ``prefill``: a chunk of ``tokens`` new tokens attending to ``past_tokens`` cached ones
  (a whole prompt is one chunk with ``past_tokens=0``; chunked prefill calls this with growing
  ``past_tokens``). ``logits`` says which rows reach the output projection: ``"last"`` (the next
  token after the chunk, what serving engines compute), ``"all"`` or ``"none"`` (a chunk that is
  not the prompt's last: final norm and output projection are left out).
* ``decode``: one step for ``batch`` sequences, each with ``kv_len`` positions in its cache
  (the new token's included); weights are read once for the whole batch.

Work: a matmul of ``T`` tokens by a ``K x N`` weight is ``2 T K N`` FLOPs, so a prefill chunk costs
about ``2 * params * T`` plus attention (see :mod:`xpuplan.models.zoo.transformer`), as in Kaplan et
al. 2020 (Table 1: :math:`C_{forward} \\approx 2N + 2 n_{layer} n_{ctx} d_{attn}` per token). RoPE
rotates pairs: 6 operations per pair, 3 per element of Q and K.

Weights: ``weight_bits`` (16; 8 for W8A16 as Agent.xpu deploys them; 4 for Q4) sets the bytes of
every projection and embedding weight; norm weights stay at the activation precision. Activations
and the KV cache are at ``precision``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx

from xpuplan.models.errors import InvalidInput
from xpuplan.models.platform import PRECISIONS
from xpuplan.models.zoo.graph_builder import ACT_BYTES, GraphBuilder, Tensor, per_token
from xpuplan.models.zoo.spec import MAX_BATCH, ModelEntry, Param
from xpuplan.models.zoo.transformer import attention


@dataclass(frozen=True)
class LlmArch:
    """Architecture numbers of a decoder-only LLM (names as in Hugging Face configs in comments)."""

    name: str
    layers: int  # num_hidden_layers
    hidden: int  # hidden_size
    heads: int  # num_attention_heads
    kv_heads: int  # num_key_value_heads
    head_dim: int  # head_dim
    ffn_hidden: int  # intermediate_size
    vocab: int  # vocab_size
    tie_embeddings: bool  # tie_word_embeddings
    rope_theta: float
    max_context: int  # max_position_embeddings
    source: str

    @property
    def num_params(self) -> int:
        """Embedding (+ untied output projection) + layers x (attention + SwiGLU + 2 norms) + norm.

        .. math:: V d (2 - t) + L (d h d_h + 2 d h_{kv} d_h + h d_h d + 3 d f + 2 d) + d

        with ``t`` = 1 for tied embeddings.
        """
        d, hd = self.hidden, self.head_dim
        attn = d * self.heads * hd + 2 * d * self.kv_heads * hd + self.heads * hd * d
        per_layer = attn + 3 * d * self.ffn_hidden + 2 * d
        embeddings = self.vocab * d * (1 if self.tie_embeddings else 2)
        return embeddings + self.layers * per_layer + d

    def kv_cache_bytes(self, tokens: int, precision: str = "fp16") -> int:
        """Bytes of the KV cache for ``tokens`` positions: ``2 L h_kv d_h`` elements per token."""
        return 2 * self.layers * self.kv_heads * self.head_dim * tokens * ACT_BYTES[precision]


_HF = "Hugging Face config.json of meta-llama/{}"
_ARCHS = {
    arch.name: arch
    for arch in (
        LlmArch(
            "llama-3.2-1b",
            16,
            2048,
            32,
            8,
            64,
            8192,
            128256,
            True,
            500000.0,
            131072,
            _HF.format("Llama-3.2-1B"),
        ),
        LlmArch(
            "llama-3.2-3b",
            28,
            3072,
            24,
            8,
            128,
            8192,
            128256,
            True,
            500000.0,
            131072,
            _HF.format("Llama-3.2-3B"),
        ),
        LlmArch(
            "llama-3.1-8b",
            32,
            4096,
            32,
            8,
            128,
            14336,
            128256,
            False,
            500000.0,
            131072,
            _HF.format("Llama-3.1-8B"),
        ),
    )
}
LLM_NAMES = tuple(_ARCHS)
_PUBLISHED_PARAMS_B = {"llama-3.2-1b": 1.23, "llama-3.2-3b": 3.21, "llama-3.1-8b": 8.03}


def llm_arch(name: str) -> LlmArch:
    """The architecture of LLM ``name`` (one of :data:`LLM_NAMES`)."""
    if name not in _ARCHS:
        raise InvalidInput(
            f"is not a known LLM (known: {', '.join(_ARCHS)})", field="model", value=name
        )
    return _ARCHS[name]


def build_llm(name: str, p: dict[str, Any]) -> nx.DiGraph:
    """One prefill chunk or one decode step of ``name`` (see the module docstring)."""
    arch = _ARCHS[name]
    phase = p["phase"]
    if phase == "prefill":
        batch, q_len, past = 1, p["tokens"], p["past_tokens"]
        if past + q_len > arch.max_context:
            raise InvalidInput(
                f"plus tokens ({q_len}) exceeds the context of {name} ({arch.max_context})",
                field="past_tokens",
                value=past,
            )
        logit_rows = {"last": 1, "all": q_len, "none": 0}[p["logits"]]
    else:
        batch, q_len, past = p["batch"], 1, p["kv_len"] - 1
        logit_rows = batch
    b = GraphBuilder(name, f"llm-{phase}", p["precision"], weight_bits=p["weight_bits"])
    tokens = batch * q_len
    tw = per_token(tokens)
    d, hd = arch.hidden, arch.head_dim
    x = b.op(
        "embed",
        "embedding",
        [b.input(tokens)],
        (tokens, d),
        flops=0,
        params=arch.vocab * d,
        weight_params=tokens * d,
        **tw,
    )
    for layer in range(arch.layers):
        b.layer = layer
        pre = f"layers.{layer}"
        h = b.norm(f"{pre}.attn_norm", x, "rmsnorm", **tw)
        q = b.linear(f"{pre}.q_proj", h, arch.heads * hd, bias=False, **tw)
        k = b.linear(f"{pre}.k_proj", h, arch.kv_heads * hd, bias=False, **tw)
        v = b.linear(f"{pre}.v_proj", h, arch.kv_heads * hd, bias=False, **tw)
        rotated = (arch.heads + arch.kv_heads) * hd
        qk = b.op(
            f"{pre}.rope", "rope", [q, k], (tokens, rotated), flops=3 * tokens * rotated, **tw
        )
        a = attention(
            b,
            f"{pre}.attention",
            [qk, v],
            batch=batch,
            q_len=q_len,
            past=past,
            heads=arch.heads,
            kv_heads=arch.kv_heads,
            head_dim=hd,
            causal=True,
        )
        o = b.linear(f"{pre}.o_proj", a.view(tokens, arch.heads * hd), d, bias=False, **tw)
        x = b.eltwise(f"{pre}.attn_add", "add", x, o, **tw)
        h = b.norm(f"{pre}.ffn_norm", x, "rmsnorm", **tw)
        gate = b.linear(f"{pre}.gate_proj", h, arch.ffn_hidden, bias=False, **tw)
        up = b.linear(f"{pre}.up_proj", h, arch.ffn_hidden, bias=False, **tw)
        gate = b.act(f"{pre}.silu", gate, "silu", **tw)
        h = b.eltwise(f"{pre}.ffn_mul", "mul", gate, up, **tw)
        h = b.linear(f"{pre}.down_proj", h, d, bias=False, **tw)
        x = b.eltwise(f"{pre}.ffn_add", "add", x, h, **tw)
    b.layer = -1
    head = per_token(logit_rows)
    if logit_rows:
        rows = Tensor((logit_rows, d), x.producer)
        x = b.norm("final_norm", rows, "rmsnorm", **head)
        b.linear("lm_head", x, arch.vocab, bias=False, tied=arch.tie_embeddings, **head)
    return b.graph


def _params(arch: LlmArch) -> dict[str, Param]:
    ctx = arch.max_context
    return {
        "phase": Param("prefill", "choice", choices=("prefill", "decode")),
        "tokens": Param(128, "int", 1, ctx, only_with=("phase", "prefill")),
        "past_tokens": Param(0, "int", 0, ctx - 1, only_with=("phase", "prefill")),
        "logits": Param(
            "last", "choice", choices=("last", "all", "none"), only_with=("phase", "prefill")
        ),
        "kv_len": Param(1024, "int", 1, ctx, only_with=("phase", "decode")),
        "batch": Param(1, "int", 1, MAX_BATCH, only_with=("phase", "decode")),
        "weight_bits": Param(16, "choice", choices=(4, 8, 16, 32)),
        "precision": Param("fp16", "choice", choices=PRECISIONS),
    }


ENTRIES = tuple(
    ModelEntry(
        arch.name,
        "llm",
        f"{arch.name}: {arch.layers} layers, hidden {arch.hidden}, {arch.heads} heads "
        f"({arch.kv_heads} KV, GQA), SwiGLU {arch.ffn_hidden}, vocab {arch.vocab}"
        f"{', tied embeddings' if arch.tie_embeddings else ''}; prefill chunk or decode step.",
        _params(arch),
        build_llm,
        reference={
            "params_b": _PUBLISHED_PARAMS_B[arch.name],
            "source": f"Meta model card (parameter count); {arch.source} (architecture)",
        },
    )
    for arch in _ARCHS.values()
)
