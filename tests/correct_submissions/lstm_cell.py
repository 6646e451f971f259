"""Two correct lstm_cell submissions written differently from the solution."""

from . import CorrectSubmission

SPLIT_GATES_TUPLE_CACHE = CorrectSubmission(
    "split_gates_tuple_cache",
    cells={
        "lstm_step_forward": '''
def lstm_step_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    gates = x @ W_ih.T + h_prev @ W_hh.T + (b_ih + b_hh)
    a_i, a_f, a_g, a_o = np.split(gates, 4, axis=1)
    i = 1.0 / (1.0 + np.exp(-a_i))
    f = 1.0 / (1.0 + np.exp(-a_f))
    g = np.tanh(a_g)
    o = 1.0 / (1.0 + np.exp(-a_o))
    c_next = c_prev * f + g * i
    h_next = np.tanh(c_next) * o
    return h_next, c_next, (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_next)
''',
        "lstm_step_backward": '''
def lstm_step_backward(dh_next, dc_next, cache):
    x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c_next = cache
    tc = np.tanh(c_next)
    do = dh_next * tc
    dc = dc_next + dh_next * o * (1 - tc ** 2)
    da = np.hstack([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g ** 2),
                    do * o * (1 - o)])
    return {"x": da @ W_ih, "h_prev": da @ W_hh, "c_prev": f * dc,
            "W_ih": da.T @ x, "W_hh": da.T @ h_prev,
            "b_ih": da.sum(axis=0), "b_hh": da.sum(axis=0)}
''',
        "lstm_forward": '''
def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    h, c = h0, c0
    outs, steps = [], []
    for t in range(x.shape[1]):
        h, c, step_cache = lstm_step_forward(x[:, t], h, c, W_ih, W_hh, b_ih, b_hh)
        outs.append(h)
        steps.append(step_cache)
    return np.stack(outs, axis=1), steps
''',
        "lstm_backward": '''
def lstm_backward(dhs, cache):
    T = len(cache)
    dh = np.zeros_like(dhs[:, 0])
    dc = np.zeros_like(dh)
    dxs = [None] * T
    acc = {}
    for t in range(T - 1, -1, -1):
        s = lstm_step_backward(dhs[:, t] + dh, dc, cache[t])
        dh, dc = s["h_prev"], s["c_prev"]
        dxs[t] = s["x"]
        for k in ("W_ih", "W_hh", "b_ih", "b_hh"):
            acc[k] = acc.get(k, 0) + s[k]
    acc.update(x=np.stack(dxs, axis=1), h0=dh, c0=dc)
    return acc
''',
        "cell_state_gradient": '''
def cell_state_gradient(cache, dc_last):
    out = [dc_last]
    for t in range(len(cache) - 1, -1, -1):
        out.append(out[-1] * cache[t][6])
    return np.stack(out[::-1], axis=1)
''',
        "forget_bias_gradients": '''
def forget_bias_gradients(x, W_ih, W_hh, b_ih, b_hh, forget_bias):
    H = W_hh.shape[1]
    shifted = np.array(b_ih, dtype=float)
    shifted[H:2 * H] = shifted[H:2 * H] + forget_bias
    N, T, _ = x.shape
    _, cache = lstm_forward(x, np.zeros((N, H)), np.zeros((N, H)), W_ih, W_hh, shifted, b_hh)
    dhs = np.zeros((N, T, H))
    dhs[:, T - 1, :] = 1
    dx = lstm_backward(dhs, cache)["x"]
    return np.linalg.norm(dx.transpose(1, 0, 2).reshape(T, -1), axis=1)
''',
    },
)

PER_GATE_WEIGHTS = CorrectSubmission(
    "per_gate_weights",
    cells={
        "lstm_step_forward": '''
def lstm_step_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]

    def block(k):
        rows = slice(k * H, (k + 1) * H)
        return x @ W_ih[rows].T + b_ih[rows] + h_prev @ W_hh[rows].T + b_hh[rows]

    i, f, o = sigmoid(block(0)), sigmoid(block(1)), sigmoid(block(3))
    g = np.tanh(block(2))
    c_next = f * c_prev + i * g
    h_next = o * np.tanh(c_next)
    cache = dict(x=x, h_prev=h_prev, c_prev=c_prev, W_ih=W_ih, W_hh=W_hh, gates=(i, f, g, o),
                 c_next=c_next)
    return h_next, c_next, cache
''',
        "lstm_step_backward": '''
def lstm_step_backward(dh_next, dc_next, cache):
    i, f, g, o = cache["gates"]
    t = np.tanh(cache["c_next"])
    dc = dh_next * o * (1.0 - t * t) + dc_next
    d_i = dc * g * i * (1 - i)
    d_f = dc * cache["c_prev"] * f * (1 - f)
    d_g = dc * i * (1 - g * g)
    d_o = dh_next * t * o * (1 - o)
    da = np.concatenate((d_i, d_f, d_g, d_o), axis=1)
    db = np.einsum("nk->k", da)
    return {"x": np.einsum("nk,kd->nd", da, cache["W_ih"]),
            "h_prev": np.einsum("nk,kh->nh", da, cache["W_hh"]),
            "c_prev": dc * f,
            "W_ih": np.einsum("nk,nd->kd", da, cache["x"]),
            "W_hh": np.einsum("nk,nh->kh", da, cache["h_prev"]),
            "b_ih": db, "b_hh": db.copy()}
''',
        "lstm_forward": '''
def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    N, T, D = x.shape
    H = h0.shape[1]
    hs = np.zeros((N, T, H))
    caches = []
    h, c = h0.copy(), c0.copy()
    for t in range(T):
        h, c, step = lstm_step_forward(x[:, t, :], h, c, W_ih, W_hh, b_ih, b_hh)
        hs[:, t, :] = h
        caches.append(step)
    return hs, {"caches": caches, "N": N, "H": H, "D": D}
''',
        "lstm_backward": '''
def lstm_backward(dhs, cache):
    N, H, D = cache["N"], cache["H"], cache["D"]
    caches = cache["caches"]
    T = len(caches)
    grads = {"x": np.zeros((N, T, D)), "W_ih": np.zeros((4 * H, D)), "W_hh": np.zeros((4 * H, H)),
             "b_ih": np.zeros(4 * H), "b_hh": np.zeros(4 * H)}
    dh_carry = np.zeros((N, H))
    dc_carry = np.zeros((N, H))
    for t in reversed(range(T)):
        step = lstm_step_backward(dhs[:, t, :] + dh_carry, dc_carry, caches[t])
        grads["x"][:, t, :] = step["x"]
        dh_carry, dc_carry = step["h_prev"], step["c_prev"]
        for k in ("W_ih", "W_hh", "b_ih", "b_hh"):
            grads[k] += step[k]
    grads["h0"], grads["c0"] = dh_carry, dc_carry
    return grads
''',
        "cell_state_gradient": '''
def cell_state_gradient(cache, dc_last):
    fs = np.stack([s["gates"][1] for s in cache["caches"]], axis=1)  # (N, T, H)
    T = fs.shape[1]
    suffix = np.ones((fs.shape[0], T + 1, fs.shape[2]))
    for k in range(T - 1, -1, -1):
        suffix[:, k] = suffix[:, k + 1] * fs[:, k]
    return suffix * dc_last[:, None, :]
''',
        "forget_bias_gradients": '''
def forget_bias_gradients(x, W_ih, W_hh, b_ih, b_hh, forget_bias):
    N, T, D = x.shape
    H = W_hh.shape[1]
    bias = np.concatenate([b_ih[:H], b_ih[H:2 * H] + forget_bias, b_ih[2 * H:]])
    zeros = np.zeros((N, H))
    hs, cache = lstm_forward(x, zeros, zeros.copy(), W_ih, W_hh, bias, b_hh)
    upstream = np.zeros_like(hs)
    upstream[:, -1] = 1.0
    dx = lstm_backward(upstream, cache)["x"]
    return np.sqrt(np.einsum("ntd,ntd->t", dx, dx))
''',
    },
)

CORRECT_SUBMISSIONS = [SPLIT_GATES_TUPLE_CACHE, PER_GATE_WEIGHTS]
