"""Two correct sequence_models submissions written differently from the solution.

The first is the independent attempt reported in the issue "rnncourse grade takes 2 of 10
points from every correct sequence_models submission": ``self.rnn`` then ``self.head``,
``out[:, -1]``, ``nn.MSELoss()``, ``clip_grad_norm_`` between ``backward`` and ``step``. The
second defines the head before the recurrent layer (another order of random draws), reads
``h_n`` (unpacking the LSTM's ``(h_n, c_n)``), takes a manual mean and clips by hand with
torch's own formula.
"""

from . import CorrectSubmission

_BUILD_MODEL_TAIL = '''

def build_model(kind, hidden_size, input_size=2):
    """A recurrent regressor for sequences: x (N, T, input_size) -> predictions (N, 1)."""
    if kind not in MODULES:
        raise ValueError(f"kind must be one of {sorted(MODULES)}, got {kind!r}")
    return Regressor(kind, hidden_size, input_size)
'''

MSELOSS_AND_LAST_OUTPUT = CorrectSubmission(
    "mseloss_and_last_output",
    cells={
        "build_model": '''
class Regressor(nn.Module):
    def __init__(self, kind, hidden_size, input_size):
        super().__init__()
        self.rnn = MODULES[kind](input_size=input_size, hidden_size=hidden_size,
                                 batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1, :])
''' + _BUILD_MODEL_TAIL,
        "train_step": '''
loss_fn = nn.MSELoss()


def train_step(model, optimizer, x, y, max_norm):
    optimizer.zero_grad()
    pred = model(x)
    loss = loss_fn(pred, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return float(loss.detach())
''',
        "fit": '''
def fit(model, *, T, steps, batch_size, lr, max_norm, seed):
    xs, ys = adding_problem(steps * batch_size, T, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for start in range(0, steps * batch_size, batch_size):
        stop = start + batch_size
        history.append(train_step(model, opt, xs[start:stop], ys[start:stop], max_norm))
    return history
''',
    },
)

HEAD_FIRST_FINAL_STATE = CorrectSubmission(
    "head_first_final_state",
    cells={
        "build_model": '''
class Regressor(nn.Module):
    def __init__(self, kind, hidden_size, input_size):
        super().__init__()
        self.kind = kind
        self.readout = nn.Linear(hidden_size, 1)
        self.recurrent = MODULES[kind](input_size, hidden_size, num_layers=1, batch_first=True)

    def forward(self, x):
        _, state = self.recurrent(x)
        h_n = state[0] if self.kind == "lstm" else state
        return self.readout(h_n[-1])
''' + _BUILD_MODEL_TAIL,
        "train_step": '''
def train_step(model, optimizer, x, y, max_norm):
    model.train()
    for p in model.parameters():
        p.grad = None
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g.mul_(scale)
    optimizer.step()
    return loss.item()
''',
        "fit": '''
def fit(model, *, T, steps, batch_size, lr, max_norm, seed):
    inputs, targets = adding_problem(steps * batch_size, T, seed=seed)
    optimizer = torch.optim.Adam(params=list(model.parameters()), lr=lr)
    batches = zip(inputs.split(batch_size), targets.split(batch_size))
    return [train_step(model, optimizer, xb, yb, max_norm) for xb, yb in batches]
''',
    },
)

CORRECT_SUBMISSIONS = [MSELOSS_AND_LAST_OUTPUT, HEAD_FIRST_FINAL_STATE]
