"""Wrong submissions for ``sequence_models``: classic mistakes and the points each must cost.

The training cell uses the learner's model, step and loop, so a mistake that stops learning
also fails the outcome tests (LSTM and GRU test MSE below 0.05). A model that learns only the
mean target (MSE about 1/6) still passes ``test_all_models_train`` (threshold 0.4; an
untrained model scores 0.7 to 1.8).
"""

from . import WrongSubmission

_OUTCOMES = {"test_lstm_solves_adding": 2, "test_gru_solves_adding": 2}

WRONG_SUBMISSIONS = [
    WrongSubmission(
        "never_calls_optimizer_step",
        edits={"train_step": ("    optimizer.step()\n", "")},
        lost={
            "test_train_step": 2,
            "test_train_step_clips": 1,
            "test_all_models_train": 1,
            **_OUTCOMES,
        },
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
        lost={"test_train_step": 2, "test_train_step_clips": 1, **_OUTCOMES},
    ),
    WrongSubmission(
        "no_gradient_clipping",
        edits={"train_step": ("    nn.utils.clip_grad_norm_(model.parameters(), max_norm)\n", "")},
        lost={"test_train_step_clips": 1},
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
]
