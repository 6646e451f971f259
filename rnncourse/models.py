r"""Small torch models for the book's experiments: thin wrappers over ``torch.nn.RNN/LSTM/GRU``.

:func:`make_recurrent` builds the recurrent module with explicit initialisation options;
:class:`CharLM`, :class:`SequenceRegressor` and :class:`SequenceClassifier` put a linear head
on top. All modules are batch first: inputs ``(N, T, D)``.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

__all__ = [
    "CharLM",
    "SequenceClassifier",
    "SequenceRegressor",
    "count_parameters",
    "make_recurrent",
]

CellName = Literal["rnn", "lstm", "gru"]
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
_MODULES: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def make_recurrent(
    cell: CellName,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    forget_bias: float | None = None,
    recurrent_init: Literal["default", "orthogonal"] | None = None,
    recurrent_scale: float | None = None,
) -> nn.RNNBase:
    r"""A batch-first ``nn.RNN`` (tanh), ``nn.LSTM`` or ``nn.GRU`` with chosen initialisation.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        input_size: features per step (D).
        hidden_size: hidden units (H).
        num_layers: stacked layers.
        forget_bias: LSTM only. Sets the forget-gate block ``[H:2H]`` of both ``bias_ih`` and
            ``bias_hh`` to ``forget_bias / 2`` so that their sum, the bias the gate sees, is
            ``forget_bias`` (``+1`` follows Gers et al. 2000 and Jozefowicz et al. 2015).
        recurrent_init: ``"orthogonal"`` re-initialises every ``H x H`` gate block of
            ``weight_hh`` as a random orthogonal matrix; ``"default"``/``None`` keeps torch's
            :math:`U(-1/\sqrt{H}, 1/\sqrt{H})`.
        recurrent_scale: rescales every gate block of ``weight_hh`` so that its largest
            singular value equals this value (for orthogonal blocks every singular value and
            the spectral radius equal it too).

    Returns:
        nn.RNNBase: the module, ``batch_first=True``.

    Raises:
        ValueError: unknown ``cell`` or ``recurrent_init``, ``forget_bias`` for a non-LSTM, or
        a non-positive ``recurrent_scale``.
    """
    if cell not in _MODULES:
        raise ValueError(f"cell must be one of {sorted(_MODULES)}, got {cell!r}")
    if forget_bias is not None and cell != "lstm":
        raise ValueError("forget_bias applies to the LSTM only")
    if recurrent_init not in (None, "default", "orthogonal"):
        raise ValueError(f"recurrent_init must be 'default' or 'orthogonal', got {recurrent_init}")
    if recurrent_scale is not None and not recurrent_scale > 0:
        raise ValueError("recurrent_scale must be positive")
    module = _MODULES[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True)
    gates = _GATES[cell]
    with torch.no_grad():
        for layer in range(num_layers):
            weight_hh = getattr(module, f"weight_hh_l{layer}")
            for block in weight_hh.view(gates, hidden_size, hidden_size):
                if recurrent_init == "orthogonal":
                    nn.init.orthogonal_(block)
                if recurrent_scale is not None:
                    block.mul_(recurrent_scale / torch.linalg.matrix_norm(block, ord=2))
            if forget_bias is not None:
                for name in ("bias_ih", "bias_hh"):
                    bias = getattr(module, f"{name}_l{layer}")
                    bias[hidden_size : 2 * hidden_size] = forget_bias / 2
    return module


def _last_hidden(state: State) -> torch.Tensor:
    """The last layer's final hidden state ``(N, H)`` from ``h_n`` or ``(h_n, c_n)``."""
    h_n = state[0] if isinstance(state, tuple) else state
    return h_n[-1]


def _encode(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Run ``rnn`` and return each sequence's hidden state at its last valid step, ``(N, H)``."""
    if x.ndim != 3:
        raise ValueError(f"x must be (N, T, D), got shape {tuple(x.shape)}")
    if lengths is None:
        _, state = rnn(x)
    else:
        lengths = torch.as_tensor(lengths, dtype=torch.int64).cpu()
        if lengths.shape != (x.shape[0],) or lengths.min() < 1 or lengths.max() > x.shape[1]:
            raise ValueError("lengths must be (N,) with values in 1..T")
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, state = rnn(packed)
    return _last_hidden(state)


class CharLM(nn.Module):
    r"""Character language model: embedding (or one-hot), recurrent layer, linear read-out.

    .. math:: p(x_{t+1} \mid x_{\le t}) = \operatorname{softmax}(W_{hy} h_t + b_y)

    Args:
        vocab_size: number of token ids (V).
        hidden_size: hidden units (H).
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        embed_size: embedding size; ``None`` feeds one-hot vectors of size V.
        **init: further options of :func:`make_recurrent` (``num_layers``, ``forget_bias``...).
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        cell: CellName = "lstm",
        embed_size: int | None = None,
        **init: Any,
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = None if embed_size is None else nn.Embedding(vocab_size, embed_size)
        self.rnn = make_recurrent(cell, embed_size or vocab_size, hidden_size, **init)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(
        self, x: torch.Tensor, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """Logits for the next token at every step.

        Args:
            x: token ids ``(N, L)``, int64.
            state: recurrent state from the previous call (carried in truncated BPTT; detach
                it between batches) or ``None`` for zeros.

        Returns:
            tuple: ``logits (N, L, V)`` and the new state.
        """
        if self.embed is None:
            inputs = nn.functional.one_hot(x, self.vocab_size).to(self.head.weight.dtype)
        else:
            inputs = self.embed(x)
        outputs, state = self.rnn(inputs, state)
        return self.head(outputs), state

    @torch.no_grad()
    def sample(
        self,
        prefix_ids: list[int] | torch.Tensor,
        n_chars: int,
        *,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> list[int]:
        r"""Generate ``n_chars`` ids after a prefix, drawing from
        :math:`\operatorname{softmax}(\text{logits} / \text{temperature})`.

        Low temperatures approach greedy decoding, high ones uniform noise.

        Args:
            prefix_ids: at least one id to condition on.
            n_chars: number of ids to generate.
            temperature: positive softmax temperature.
            seed: seed of the sampling generator (the model's RNG state is untouched).

        Returns:
            list[int]: the generated ids, without the prefix.
        """
        if not temperature > 0:
            raise ValueError("temperature must be positive")
        prefix = torch.as_tensor(prefix_ids, dtype=torch.int64).reshape(1, -1)
        if prefix.numel() == 0:
            raise ValueError("prefix_ids must hold at least one id")
        device = self.head.weight.device
        generator = torch.Generator(device="cpu").manual_seed(seed)
        was_training = self.training
        self.eval()
        try:
            logits, state = self(prefix.to(device))
            out: list[int] = []
            for _ in range(n_chars):
                probs = torch.softmax(logits[0, -1].double().cpu() / temperature, dim=-1)
                token = int(torch.multinomial(probs, 1, generator=generator))
                out.append(token)
                logits, state = self(torch.tensor([[token]], device=device), state)
        finally:
            self.train(was_training)
        return out


class SequenceRegressor(nn.Module):
    """Recurrent layer, then a linear map of the final hidden state to ``output_size`` values.

    Args:
        input_size: features per step (D).
        hidden_size: hidden units (H).
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        output_size: predicted values per sequence.
        **init: options of :func:`make_recurrent`.
    """

    def __init__(
        self, input_size: int, hidden_size: int, cell: CellName = "lstm",
        output_size: int = 1, **init: Any,
    ) -> None:
        super().__init__()
        self.rnn = make_recurrent(cell, input_size, hidden_size, **init)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Predictions ``(N, output_size)`` from ``x (N, T, D)``.

        With ``lengths (N,)`` the prediction uses each sequence's last valid step.
        """
        return self.head(_encode(self.rnn, x, lengths))


class SequenceClassifier(nn.Module):
    """Recurrent layer, then class logits from each sequence's last valid hidden state.

    Padded batches are packed with :func:`torch.nn.utils.rnn.pack_padded_sequence`, so the
    padding never enters the recurrence.

    Args:
        input_size: features per step (D).
        hidden_size: hidden units (H).
        n_classes: number of classes (C).
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        **init: options of :func:`make_recurrent`.
    """

    def __init__(
        self, input_size: int, hidden_size: int, n_classes: int, cell: CellName = "lstm",
        **init: Any,
    ) -> None:
        super().__init__()
        self.rnn = make_recurrent(cell, input_size, hidden_size, **init)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(N, C)`` for a padded batch ``x (N, T_max, D)`` with ``lengths (N,)``."""
        return self.head(_encode(self.rnn, x, lengths))


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars (parameters with ``requires_grad``) in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
