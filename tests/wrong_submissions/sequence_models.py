"""Wrong submissions for ``sequence_models``: classic mistakes and the points each must cost.

The model, the training step, clipping and the loop are graded on their own
(``rnncourse/suites/sequence_models.py``): the step and the loop run on the notebook's fixed
``TinyRegressor``, clipping is read from the update or from the gradients clipping left, and
``fit`` is accepted when it is a loop of the learner's own ``train_step``. Only the trained
outcomes (LSTM and GRU held-out MSE below 0.05) depend on everything: a mistake that stops the
models from learning costs its own test and those two. Measured held-out MSEs of the trained
models of each mistake are in ``tests/test_suite_sequence_models.py``.
"""

from . import WrongSubmission

_OUTCOMES = {"test_lstm_solves_adding": 2, "test_gru_solves_adding": 2}

WRONG_SUBMISSIONS = [
    WrongSubmission(
        # no update at all: the clipping test reads the clipped gradient, fit is a correct
        # loop of this train_step; nothing trains
        "never_calls_optimizer_step",
        edits={"train_step": ("    optimizer.step()\n", "")},
        lost={"test_train_step": 2, **_OUTCOMES},
    ),
    WrongSubmission(
        # (N,) against (N, 1) broadcasts to (N, N): the model only learns the mean target
        "loss_broadcasts_prediction_against_target",
        edits={
            "train_step": (
                "nn.functional.mse_loss(model(x), y)",
                "nn.functional.mse_loss(model(x).squeeze(-1), y)",
            )
        },
        lost={"test_train_step": 2, **_OUTCOMES},
    ),
    WrongSubmission(
        "no_gradient_clipping",
        edits={"train_step": ("    nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n", "")},
        lost={"test_train_step_clips": 1},
    ),
    WrongSubmission(
        "clips_after_the_step",
        edits={"train_step": (
            "    nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n    optimizer.step()\n",
            "    optimizer.step()\n    nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n")},
        lost={"test_train_step_clips": 1},
    ),
    WrongSubmission(
        "never_zeroes_the_gradients",
        edits={"train_step": ("    optimizer.zero_grad()\n", "")},
        lost={"test_train_step": 2, **_OUTCOMES},
    ),
    WrongSubmission(
        "fit_makes_a_new_optimizer_every_step",
        edits={"fit": (
            "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n    losses = []\n"
            "    for k in range(steps):\n",
            "    losses = []\n    for k in range(steps):\n"
            "        optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n")},
        lost={"test_fit": 2, **_OUTCOMES},
    ),
    WrongSubmission(
        "head_reads_first_step",
        edits={"build_model": ("return self.head(out[:, -1])", "return self.head(out[:, 0])")},
        lost={"test_build_model": 2, **_OUTCOMES},
    ),
    WrongSubmission(
        "layer_not_batch_first",
        edits={
            "build_model": (
                "MODULES[kind](input_size, hidden_size, batch_first=True)",
                "MODULES[kind](input_size, hidden_size)",
            )
        },
        lost={"test_build_model": 2, **_OUTCOMES},
    ),
    WrongSubmission(
        # `_, h_n = self.rnn(x)` as for nn.GRU: for nn.LSTM, h_n is the tuple (h_n, c_n)
        "lstm_reads_the_state_tuple",
        edits={"build_model": ("out, _ = self.rnn(x)\n        return self.head(out[:, -1])",
                               "_, h_n = self.rnn(x)\n        return self.head(h_n[-1])")},
        lost={"test_build_model": 2, "test_lstm_solves_adding": 2},
    ),
]
