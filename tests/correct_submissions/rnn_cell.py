"""Two correct rnn_cell submissions written differently from the solution."""

from . import CorrectSubmission

EINSUM_WITH_DICT_CACHES = CorrectSubmission(
    "einsum_with_dict_caches",
    cells={
        "rnn_step_forward": '''
def rnn_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    pre = np.einsum("nd,hd->nh", x, W_ih) + np.einsum("nk,hk->nh", h_prev, W_hh)
    pre = pre + (b_ih + b_hh)
    h_next = np.tanh(pre)
    return h_next, {"x": x, "h_prev": h_prev, "W_ih": W_ih, "W_hh": W_hh, "h_next": h_next}
''',
        "rnn_step_backward": '''
def rnn_step_backward(dh_next, cache):
    dpre = (1 - cache["h_next"] ** 2) * dh_next
    db = np.sum(dpre, axis=0)
    return {
        "x": np.einsum("nh,hd->nd", dpre, cache["W_ih"]),
        "h_prev": np.einsum("nh,hk->nk", dpre, cache["W_hh"]),
        "W_ih": np.einsum("nh,nd->hd", dpre, cache["x"]),
        "W_hh": np.einsum("nh,nk->hk", dpre, cache["h_prev"]),
        "b_ih": db,
        "b_hh": db.copy(),
    }
''',
        "rnn_forward": '''
def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    states, caches = [], []
    h = h0
    for t in range(x.shape[1]):
        h, step_cache = rnn_step_forward(x[:, t, :], h, W_ih, W_hh, b_ih, b_hh)
        states.append(h)
        caches.append(step_cache)
    return np.stack(states, axis=1), {"steps": caches}
''',
        "rnn_backward": '''
def rnn_backward(dhs, cache):
    steps = cache["steps"]
    T = len(steps)
    dx_list = [None] * T
    H = steps[0]["W_hh"].shape[0]
    total = {"W_ih": np.zeros_like(steps[0]["W_ih"]), "W_hh": np.zeros((H, H)),
             "b_ih": np.zeros(H), "b_hh": np.zeros(H)}
    carry = np.zeros_like(dhs[:, 0])
    for t in range(T - 1, -1, -1):
        g = rnn_step_backward(dhs[:, t] + carry, steps[t])
        dx_list[t] = g["x"]
        carry = g["h_prev"]
        for k in total:
            total[k] = total[k] + g[k]
    total["x"] = np.stack(dx_list, axis=1)
    total["h0"] = carry
    return total
''',
        "numeric_gradient_impl": '''
def numeric_gradient(f, x, df, h=1e-5):
    grad = np.zeros(x.shape)
    for k in range(x.size):
        i = np.unravel_index(k, x.shape)
        saved = x[i]
        x[i] = saved + h
        fp = np.asarray(f(x), dtype=float)
        x[i] = saved - h
        fm = np.asarray(f(x), dtype=float)
        x[i] = saved
        grad[i] = np.sum(df * (fp - fm)) / (2 * h)
    return grad


def gradient_check(forward, backward, inputs, dout, h=1e-5):
    _, cache = forward(**inputs)
    grads = backward(dout, cache)
    result = {}
    for key in inputs:
        def f(_):
            return forward(**inputs)[0]
        num = numeric_gradient(f, inputs[key], dout, h)
        a = np.asarray(grads[key])
        result[key] = float(np.max(np.abs(a - num) / np.maximum(1e-8, np.abs(a) + np.abs(num))))
    return result
''',
    },
)

CONCATENATED_WEIGHTS = CorrectSubmission(
    "concatenated_weights",
    cells={
        "rnn_step_forward": '''
def rnn_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    xh = np.concatenate([x, h_prev], axis=1)
    W = np.concatenate([W_ih, W_hh], axis=1)
    h_next = np.tanh(xh @ W.T + b_ih + b_hh)
    return h_next, (xh, W, h_next, x.shape[1])
''',
        "rnn_step_backward": '''
def rnn_step_backward(dh_next, cache):
    xh, W, h_next, D = cache
    da = dh_next * (1 - h_next * h_next)
    dxh = da @ W
    dW = da.T @ xh
    return {"x": dxh[:, :D], "h_prev": dxh[:, D:], "W_ih": dW[:, :D], "W_hh": dW[:, D:],
            "b_ih": da.sum(0), "b_hh": da.sum(0)}
''',
        "rnn_forward": '''
def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    N, T, D = x.shape
    hs = np.empty((N, T, h0.shape[1]))
    caches = {}
    h = h0
    for t in range(T):
        h, caches[t] = rnn_step_forward(x[:, t], h, W_ih, W_hh, b_ih, b_hh)
        hs[:, t] = h
    return hs, (caches, h0)
''',
        "rnn_backward": '''
def rnn_backward(dhs, cache):
    caches, h0 = cache
    N, T, H = dhs.shape
    D = caches[0][3]
    grads = {"x": np.zeros((N, T, D)), "W_ih": 0.0, "W_hh": 0.0, "b_ih": 0.0, "b_hh": 0.0}
    dh = np.zeros((N, H))
    for t in reversed(range(T)):
        step = rnn_step_backward(dh + dhs[:, t], caches[t])
        grads["x"][:, t] = step["x"]
        dh = step["h_prev"]
        for k in ("W_ih", "W_hh", "b_ih", "b_hh"):
            grads[k] = grads[k] + step[k]
    grads["h0"] = dh
    return grads
''',
        "numeric_gradient_impl": '''
def numeric_gradient(f, x, df, h=1e-5):
    out = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(*x.shape):
        original = float(x[idx])
        x[idx] = original + h
        up = f(x)
        up = np.array(up, dtype=np.float64, copy=True)
        x[idx] = original - h
        down = np.array(f(x), dtype=np.float64, copy=True)
        x[idx] = original
        out[idx] = float(np.vdot(df, up - down)) / (2.0 * h)
    return out


def gradient_check(forward, backward, inputs, dout, h=1e-5):
    analytic = backward(dout, forward(**inputs)[1])
    errors = {}
    for name in inputs:
        numeric = numeric_gradient(lambda value: forward(**{**inputs, name: value})[0],
                                   inputs[name], dout, h)
        num = np.abs(analytic[name] - numeric)
        den = np.maximum(np.abs(analytic[name]) + np.abs(numeric), 1e-8)
        errors[name] = (num / den).max().item()
    return errors
''',
    },
)

CORRECT_SUBMISSIONS = [EINSUM_WITH_DICT_CACHES, CONCATENATED_WEIGHTS]
