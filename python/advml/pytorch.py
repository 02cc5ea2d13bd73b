"""advml.pytorch - advml models as torch.nn.Modules and back.

  net = to_torch("results/mnist.ckpt.h5")        # the checkpoint's model and weights
  net = to_torch("jobs/mnist_cnn.json")          # the config's model, PyTorch's initial weights
  probs = net(torch.from_numpy(x))               # what advml-predict computes, to float rounding
  save_checkpoint(net, "jobs/mnist_cnn.json", "start.ckpt.h5")   # for --resume / advml-predict
  save_checkpoint(my_own_net.state_dict(), config, "mine.ckpt.h5")

to_torch builds an nn.Sequential of one module per advml layer, named as the
checkpoint's groups (layer00_conv2d, layer01_maxpool2d, ...), so its
state_dict keys are "layer00_conv2d.weight", "layer03_rnn.weight_ih_l0", ...
Each module computes exactly what the advml layer does:

  conv2d       nn.Conv2d; "same" is Keras' padding (the odd zero of an even
               total goes to the bottom/right), then the layer's activation
  dense        nn.Linear, weight (OUT, IN) as advml's, then the activation
  maxpool2d, avgpool2d   nn.MaxPool2d / nn.AvgPool2d (valid windows)
  flatten      nn.Flatten (C*H*W order, as advml)
  dropout      nn.Dropout (identity in eval(), as in advml's evaluation)
  activation   the function; softmax normalises all values of a sample
  batchnorm    nn.BatchNorm2d (after conv2d) or nn.BatchNorm1d (after dense),
               momentum and eps as advml's (the same convention), weight =
               gamma, bias = beta, the running statistics as its buffers; then
               the layer's activation. In eval() it computes advml's
               evaluation; in train() PyTorch normalises over the module's own
               batch (advml over the global batch of all ranks)
  rnn, lstm, gru   nn.RNN / nn.LSTM / nn.GRU with batch_first=True, returning
               the last step's hidden state, or every step's with
               return_sequences
  esn          advml.pytorch.ESN: the reservoir W_in, W (, b) as buffers (never
               trained), the leaky update over the steps, [h_t (, x_t)] of the
               last step or of the steps from washout on

PyTorch's recurrent cells keep two bias vectors, advml's rnn and lstm one:
to_torch sets bias_ih_l0 = advml's bias and bias_hh_l0 = 0, save_checkpoint
writes their sum. advml's gru keeps both (b_hn sits inside r * (...)).

save_checkpoint maps any module or state_dict onto a config's layers in
order: the i-th group of parameters (by module prefix; an nn.LSTM with
num_layers=2 gives two groups, _l0 and _l1) goes to the i-th advml layer
that has parameters, with every shape checked, so a hand-written PyTorch
model with the same architecture (conv1, conv2, fc1, fc2, ...) maps too.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import Checkpoint, write_checkpoint
from .model import Model, load_config


def _activate(x, name, alpha):
    if name == "linear":
        return x
    if name == "relu":
        return torch.relu(x)
    if name == "leaky_relu":
        return F.leaky_relu(x, alpha)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "softmax":  # over all values of one sample, as advml
        return torch.softmax(x.reshape(x.shape[0], -1), dim=1).reshape(x.shape)
    raise ValueError(f"unknown activation {name!r}")


class _Act:
    def _set_act(self, layer):
        self.activation = layer.activation
        self.alpha = layer.alpha

    def extra_repr(self):
        s = super().extra_repr()
        act = self.activation + (f"(alpha={self.alpha:g})" if self.activation == "leaky_relu" else "")
        return f"{s}, activation={act}" if s else f"activation={act}"


class Conv2d(_Act, nn.Conv2d):
    """advml's conv2d: Keras "same" padding (zeros split total//2 before), then
    the layer's activation."""

    def __init__(self, layer):
        c = layer.in_shape[0]
        pt, pb, pl, pr = layer.pad
        sym = pt == pb and pl == pr
        super().__init__(c, layer.units, tuple(layer.kernel), stride=tuple(layer.stride),
                         padding=(pt, pl) if sym else 0, bias=layer.use_bias)
        self.asym_pad = None if sym else (pl, pr, pt, pb)
        self._set_act(layer)

    def forward(self, x):
        if self.asym_pad is not None:
            x = F.pad(x, self.asym_pad)
        return _activate(super().forward(x), self.activation, self.alpha)


class Linear(_Act, nn.Linear):
    """advml's dense: x W^T + b, then the layer's activation."""

    def __init__(self, layer):
        super().__init__(layer.in_shape[0], layer.units, bias=layer.use_bias)
        self._set_act(layer)

    def forward(self, x):
        return _activate(super().forward(x), self.activation, self.alpha)


class Activation(_Act, nn.Module):
    def __init__(self, layer):
        super().__init__()
        self._set_act(layer)

    def forward(self, x):
        return _activate(x, self.activation, self.alpha)


class BatchNorm(_Act, nn.Module):
    """advml's batchnorm (nn.BatchNorm2d or BatchNorm1d inside, as "bn"), then
    the layer's activation."""

    def __init__(self, layer):
        super().__init__()
        cls = nn.BatchNorm2d if len(layer.in_shape) == 3 else nn.BatchNorm1d
        self.bn = cls(layer.in_shape[0], eps=layer.epsilon, momentum=layer.momentum, affine=layer.affine)
        self._set_act(layer)

    def forward(self, x):
        return _activate(self.bn(x), self.activation, self.alpha)


class _Recurrent:
    """Returns the output sequence (N, T, H) with return_sequences, else the last
    step's hidden state (N, H); batch_first inputs (N, T, F) as advml's."""

    def forward(self, x):
        out = super().forward(x)[0]
        return out if self.return_sequences else out[:, -1]

    def extra_repr(self):
        return super().extra_repr() + f", return_sequences={self.return_sequences}"


class ESN(nn.Module):
    """advml's esn (docs/recurrent.md, "Echo state networks"): a fixed reservoir
    as buffers W_in (H, F), W (H, H) and b (H, with bias_scaling > 0), never
    trained; h_t = (1 - a) h_{t-1} + a tanh(W_in x_t + W h_{t-1} + b) from
    h = 0; output [h_t (, x_t)] of the last step, or of the steps from washout
    on with return_sequences; with square_states h_j^2 in place of h_j for the
    even units j = 0, 2, 4, ... Built from a config alone, the reservoir is drawn
    as advml draws it (its distribution, not its numbers: those come from a
    checkpoint)."""

    def __init__(self, layer):
        super().__init__()
        s = layer.spec
        t, f = layer.in_shape
        h = layer.units
        self.leak_rate, self.washout = layer.leak_rate, layer.washout
        self.concat_input, self.return_sequences = layer.concat_input, layer.return_sequences
        self.square_states = layer.square_states
        sparsity, radius = float(s.get("sparsity", 0.9)), float(s.get("spectral_radius", 0.9))
        w = torch.rand(h, h) * 2 - 1
        w = w * (torch.rand(h, h) >= sparsity)
        rho = torch.linalg.eigvals(w.double()).abs().max().item()
        self.register_buffer("W_in", (torch.rand(h, f) * 2 - 1) * float(s.get("input_scaling", 1.0)))
        self.register_buffer("W", w * (radius / rho) if rho > 0 else w)
        bias = float(s.get("bias_scaling", 0.0))
        if bias > 0:
            self.register_buffer("b", (torch.rand(h) * 2 - 1) * bias)
        else:
            self.b = None

    def forward(self, x):
        h = x.new_zeros(x.shape[0], self.W.shape[0])
        a, outs = self.leak_rate, []
        for t in range(x.shape[1]):
            p = x[:, t] @ self.W_in.T + h @ self.W.T
            if self.b is not None:
                p = p + self.b
            h = (1 - a) * h + a * torch.tanh(p)
            if self.return_sequences and t >= self.washout or t == x.shape[1] - 1:
                r = h
                if self.square_states:  # h_j^2 for the even units
                    r = h.clone()
                    r[:, 0::2] = h[:, 0::2] ** 2
                outs.append(torch.cat([r, x[:, t]], dim=1) if self.concat_input else r)
        return torch.stack(outs, dim=1) if self.return_sequences else outs[-1]

    def extra_repr(self):
        return (f"units={self.W.shape[0]}, leak_rate={self.leak_rate:g}, washout={self.washout}, "
                f"concat_input={self.concat_input}, square_states={self.square_states}, "
                f"return_sequences={self.return_sequences}")


class RNN(_Recurrent, nn.RNN):
    def __init__(self, layer):
        super().__init__(layer.in_shape[1], layer.units, nonlinearity=layer.activation, batch_first=True)
        self.return_sequences = layer.return_sequences


class LSTM(_Recurrent, nn.LSTM):
    def __init__(self, layer):
        super().__init__(layer.in_shape[1], layer.units, batch_first=True)
        self.return_sequences = layer.return_sequences


class GRU(_Recurrent, nn.GRU):
    def __init__(self, layer):
        super().__init__(layer.in_shape[1], layer.units, batch_first=True)
        self.return_sequences = layer.return_sequences


def _module(layer):
    t = layer.type
    if t == "conv2d":
        return Conv2d(layer)
    if t == "dense":
        return Linear(layer)
    if t == "maxpool2d":
        return nn.MaxPool2d(tuple(layer.kernel), tuple(layer.stride))
    if t == "avgpool2d":
        return nn.AvgPool2d(tuple(layer.kernel), tuple(layer.stride))
    if t == "flatten":
        return nn.Flatten()
    if t == "dropout":
        return nn.Dropout(layer.rate)
    if t == "activation":
        return Activation(layer)
    if t == "batchnorm":
        return BatchNorm(layer)
    if t == "esn":
        return ESN(layer)
    return {"rnn": RNN, "lstm": LSTM, "gru": GRU}[t](layer)


def _torch_weights(layer, p):
    """advml views of one layer (dict name -> array) -> {torch name: array}."""
    t = layer.type
    if t in ("conv2d", "dense"):
        w = {"weight": p["kernel" if t == "conv2d" else "weight"]}
        if layer.use_bias:
            w["bias"] = p["bias"]
        return w
    if t == "rnn":
        return {"weight_ih_l0": p["U"], "weight_hh_l0": p["W"], "bias_ih_l0": p["b"],
                "bias_hh_l0": np.zeros_like(p["b"])}
    if t == "lstm":
        return {"weight_ih_l0": p["weight_ih"], "weight_hh_l0": p["weight_hh"], "bias_ih_l0": p["bias"],
                "bias_hh_l0": np.zeros_like(p["bias"])}
    if t == "gru":
        return {"weight_ih_l0": p["weight_ih"], "weight_hh_l0": p["weight_hh"], "bias_ih_l0": p["bias_ih"],
                "bias_hh_l0": p["bias_hh"]}
    if t == "esn":  # the reservoir's buffers, as they are
        return dict(p)
    if t == "batchnorm":
        w = {"bn.running_mean": p["running_mean"], "bn.running_var": p["running_var"],
             "bn.num_batches_tracked": np.array(0, dtype=np.int64)}
        if layer.affine:
            w.update({"bn.weight": p["gamma"], "bn.bias": p["beta"]})
        return w
    return {}


def to_torch(source, *, input_shape=None, logits=False):
    """An nn.Sequential computing the advml model of source, in eval() mode.

    source: a checkpoint (path or advml.Checkpoint): its config and weights;
    or a config (dict, JSON text, .json file): its model with PyTorch's own
    initial weights (input_shape when the config has no "input"). With
    logits=True a final softmax or sigmoid is left out (for
    nn.CrossEntropyLoss / nn.BCEWithLogitsLoss); advml-predict's outputs are
    the model's with it. The module's advml_config attribute holds the config.
    """
    ck = None
    if isinstance(source, Checkpoint):
        ck = source
    elif isinstance(source, str) and source.endswith(".h5"):
        ck = Checkpoint(source)
    config = ck.config if ck is not None else load_config(source)
    model = Model(config, input_shape=input_shape)
    mods = []
    for i, L in enumerate(model.layers):
        m = _module(L)
        if logits and i == len(model.layers) - 1 and getattr(m, "activation", None) in ("softmax", "sigmoid"):
            m.activation = "linear"
        mods.append((L.name, m))
    from collections import OrderedDict
    net = nn.Sequential(OrderedDict(mods))
    if ck is not None:
        sd = {}
        for L in model.layers:
            p = {n: ck.params[f"{L.name}/{n}"] for n, _ in L.views}
            for k, a in _torch_weights(L, p).items():
                sd[f"{L.name}.{k}"] = torch.from_numpy(np.array(a, dtype=np.int64 if k.endswith("tracked")
                                                                else np.float32))
        net.load_state_dict(sd, strict=True)
    net.advml_config = dict(config, input=list(model.input_shape))
    return net.eval()


def _groups(state):
    """[(prefix, {name: tensor})] in order of first appearance; recurrent
    layers of a multi-layer nn.RNN/LSTM/GRU are groups of their own
    (prefix.l0, prefix.l1, ...)."""
    import re
    groups = {}
    for key, v in state.items():
        prefix, _, name = key.rpartition(".")
        m = re.fullmatch(r"(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?", name)
        if m:
            if m.group(3):
                raise ValueError(f"state_dict: {key}: bidirectional recurrent layers have no advml equivalent")
            gk, name = f"{prefix}.l{m.group(2)}" if prefix else f"l{m.group(2)}", m.group(1)
        else:
            gk = prefix
        groups.setdefault(gk, {})[name] = v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)
    return list(groups.items())


def state_dict_to_params(state, config, input_shape=None):
    """advml's parameters ({"layerNN_KIND/VIEW": float32 array}) from a PyTorch
    module or state_dict whose parameter groups follow the config's layers in
    order; every shape is checked, and nothing may be left over."""
    model = Model(load_config(config), input_shape=input_shape)
    if isinstance(state, nn.Module):
        state = state.state_dict()  # the parameters and the buffers (batchnorm's running statistics)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    groups = _groups(state)
    gi = 0
    params = {}

    def take(L):
        nonlocal gi
        if gi >= len(groups):
            raise ValueError(f"state_dict: no parameters left for model[{L.index}] ({L.type}); "
                             f"it has {len(groups)} groups of parameters for "
                             f"{sum(1 for x in model.layers if x.views)} advml layers with parameters")
        g = groups[gi]
        gi += 1
        return g

    def get(L, prefix, g, name, shape, optional=False):
        key = f"{prefix}.{name}" if prefix else name
        if name not in g:
            if optional:
                return None
            raise ValueError(f"state_dict: model[{L.index}] ({L.type}) needs {key} of shape {tuple(shape)}; "
                             f"the group {prefix!r} has {', '.join(g)}")
        a = np.asarray(g[name], dtype=np.float32)
        if a.shape != tuple(shape):
            raise ValueError(f"state_dict: {key} has shape {a.shape}, model[{L.index}] ({L.type}) "
                             f"needs {tuple(shape)}")
        return a

    for L in model.layers:
        if not L.views:
            continue
        prefix, g = take(L)
        shapes = dict(L.views)
        t = L.type
        if t == "batchnorm":  # weight, bias (affine) and the running statistics (buffers)
            if L.affine:
                params[f"{L.name}/gamma"] = get(L, prefix, g, "weight", shapes["gamma"])
                params[f"{L.name}/beta"] = get(L, prefix, g, "bias", shapes["beta"])
            params[f"{L.name}/running_mean"] = get(L, prefix, g, "running_mean", shapes["running_mean"])
            params[f"{L.name}/running_var"] = get(L, prefix, g, "running_var", shapes["running_var"])
            extra = set(g) - {"weight", "bias", "running_mean", "running_var"}
        elif t == "esn":  # the reservoir: buffers W_in, W (and b)
            for name, shape in L.views:
                params[f"{L.name}/{name}"] = get(L, prefix, g, name, shape)
            extra = set(g) - set(shapes)
        elif t in ("conv2d", "dense"):
            wname = "kernel" if t == "conv2d" else "weight"
            params[f"{L.name}/{wname}"] = get(L, prefix, g, "weight", shapes[wname])
            if L.use_bias:
                params[f"{L.name}/bias"] = get(L, prefix, g, "bias", shapes["bias"])
            elif "bias" in g:
                raise ValueError(f"state_dict: {prefix}.bias: model[{L.index}] ({t}) has \"use_bias\": false")
            extra = set(g) - {"weight", "bias"}
        else:
            h = L.units
            gates = {"rnn": 1, "lstm": 4, "gru": 3}[t]
            wi = get(L, prefix, g, "weight_ih", (gates * h, L.in_shape[1]))
            wh = get(L, prefix, g, "weight_hh", (gates * h, h))
            bi = get(L, prefix, g, "bias_ih", (gates * h,), optional=True)
            bh = get(L, prefix, g, "bias_hh", (gates * h,), optional=True)
            zero = np.zeros(gates * h, np.float32)
            bi = zero if bi is None else bi
            bh = zero if bh is None else bh
            if t == "rnn":
                params.update({f"{L.name}/U": wi, f"{L.name}/W": wh, f"{L.name}/b": bi + bh})
            elif t == "lstm":
                params.update({f"{L.name}/weight_ih": wi, f"{L.name}/weight_hh": wh, f"{L.name}/bias": bi + bh})
            else:
                params.update({f"{L.name}/weight_ih": wi, f"{L.name}/weight_hh": wh, f"{L.name}/bias_ih": bi,
                               f"{L.name}/bias_hh": bh})
            extra = set(g) - {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
        if extra:
            raise ValueError(f"state_dict: {', '.join(f'{prefix}.{e}' for e in sorted(extra))}: not a parameter of "
                             f"model[{L.index}] ({t})")
    if gi < len(groups):
        left = [f"{p}.{n}" if p else n for p, g in groups[gi:] for n in g]
        raise ValueError(f"state_dict: {', '.join(left)}: left over after every advml layer took its parameters "
                         "(does the config describe this model?)")
    return params


def save_checkpoint(state, config, path, *, input_shape=None, overwrite=False, **kw):
    """Write an advml checkpoint (format_version 2, sealed) at path from a
    PyTorch module or state_dict and the advml config it implements: ready for
    advml-train --resume and advml-predict. A fresh start (epoch and step 0,
    zero optimizer state) unless kw says otherwise (see
    advml.checkpoint.write_checkpoint). Returns path."""
    config = load_config(config)
    if isinstance(state, nn.Module) and input_shape is None and "input" not in config:
        input_shape = (getattr(state, "advml_config", None) or {}).get("input")
    params = state_dict_to_params(state, config, input_shape=input_shape)
    return write_checkpoint(path, config, params, input_shape=input_shape, overwrite=overwrite, **kw)


def export_onnx(source, path, *, batch_size=1, opset=13):
    """Export an advml model (a checkpoint path, advml.Checkpoint, or a module
    from to_torch) to ONNX through torch.onnx, with a dynamic batch
    dimension. Returns path."""
    net = source if isinstance(source, nn.Module) else to_torch(source)
    net.eval()
    shape = net.advml_config["input"]
    x = torch.zeros((batch_size, *shape), dtype=torch.float32)
    torch.onnx.export(net, (x,), str(path), input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=opset)
    return path
