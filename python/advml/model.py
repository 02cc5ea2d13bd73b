"""advml.model - an advml config's layers as advml builds them: shapes, padding
and the named parameter views of every layer, in the checkpoint's order.

This mirrors the C code (src/config.c, src/layer.c and each kind's setup in
src/conv2d.c, src/pool.c, src/dense.c, src/rnn.c, src/lstm.c, src/gru.c,
src/batchnorm.c, src/esn.c) for
what the Python side needs: building a PyTorch module (advml.torch) and
writing a checkpoint (advml.checkpoint.write_checkpoint). It checks shapes, but
the C parser stays the judge of a config's validity: a checkpoint written from
Python is read back by advml-train and advml-predict with their own checks.
"""

import json
import math

LAYER_TYPES = ("conv2d", "maxpool2d", "avgpool2d", "flatten", "dense", "dropout", "activation",
               "rnn", "lstm", "gru", "batchnorm", "esn")
ACTIVATIONS = ("linear", "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")
# "type": "relu" etc. is an activation layer with that function (src/config.c)
ACT_SHORTHANDS = ("relu", "leaky_relu", "sigmoid", "tanh", "softmax")
LEAKY_ALPHA_DEFAULT = 1e-3
RECURRENT = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


class ConfigError(ValueError):
    """A config advml would not build; the message names the layer (model[i])."""


def _pair(v, what):
    if isinstance(v, bool):
        raise ConfigError(f"{what}: expected 2 positive integers, got {v!r}")
    if isinstance(v, int) and v > 0:
        return (v, v)
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool)
                                                            and x > 0 for x in v):
        return (int(v[0]), int(v[1]))
    raise ConfigError(f"{what}: expected 2 positive integers, got {v!r}")


def conv_out_size(n, k, s, padding):
    """(output size, zeros before) along one axis, as advml_conv_out_size:
    "same" is Keras' ceil(n / s) with total padding split total//2 before."""
    if padding == "same":
        o = (n + s - 1) // s
        total = max((o - 1) * s + k - n, 0)
        return o, total // 2, total - total // 2
    if k > n:
        return None, 0, 0
    return (n - k) // s + 1, 0, 0


class Layer:
    """One layer of a config, after shape inference.

    Attributes: index, type ("conv2d", ..., "gru"; an activation shorthand is
    type "activation"), spec (the config's dict), in_shape, out_shape (per
    sample, tuples), activation (post-activation of conv2d/dense/activation,
    the cell's of rnn; lstm/gru: "tanh"), alpha, and views: the list of
    (name, shape) of its parameters in buffer order, as in the checkpoint's
    /params/layerNN_KIND/NAME.
    """

    def __init__(self, index, spec, in_shape):
        self.index = index
        self.spec = dict(spec)
        where = f"model[{index}]"
        t = spec.get("type")
        if t in ACT_SHORTHANDS:
            self.type = "activation"
            self.activation = t
        elif t in LAYER_TYPES:
            self.type = t
            self.activation = spec.get("activation", "tanh" if t in RECURRENT + ("esn",) else "linear")
        else:
            raise ConfigError(f"{where}.type: unknown layer type {t!r}; expected one of "
                              + ", ".join(LAYER_TYPES + ACT_SHORTHANDS))
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"{where}.activation: unknown activation {self.activation!r}")
        if self.activation == "identity":
            self.activation = "linear"
        self.alpha = float(spec.get("alpha", LEAKY_ALPHA_DEFAULT))
        self.name = f"layer{index:02d}_{self.type}"
        self.in_shape = tuple(in_shape)
        self.views = []
        self.pad = (0, 0, 0, 0)  # conv2d "same": top, bottom, left, right
        self.units = spec.get("units", spec.get("filters"))
        self.use_bias = bool(spec.get("use_bias", True))
        self.return_sequences = bool(spec.get("return_sequences", False))
        self.rate = float(spec.get("rate", 0.5))
        getattr(self, "_setup_" + self.type)(where)

    def _need_image(self, where):
        if len(self.in_shape) != 3:
            raise ConfigError(f"{where} ({self.type}): needs an image input (C, H, W), got {self.in_shape}")

    def _setup_conv2d(self, where):
        self._need_image(where)
        c, h, w = self.in_shape
        self.kernel = _pair(self.spec.get("kernel"), f"{where}.kernel")
        self.stride = _pair(self.spec.get("stride", 1), f"{where}.stride")
        self.padding = self.spec.get("padding", "valid")
        if self.padding not in ("same", "valid"):
            raise ConfigError(f"{where}.padding: expected \"same\" or \"valid\", got {self.padding!r}")
        oh, pt, pb = conv_out_size(h, self.kernel[0], self.stride[0], self.padding)
        ow, pl, pr = conv_out_size(w, self.kernel[1], self.stride[1], self.padding)
        if oh is None or ow is None:
            raise ConfigError(f"{where} (conv2d): kernel {self.kernel[0]}x{self.kernel[1]} is larger than "
                              f"the input {h}x{w}")
        self.pad = (pt, pb, pl, pr)
        oc = int(self.spec["filters"])
        self.units = oc
        self.out_shape = (oc, oh, ow)
        self.views.append(("kernel", (oc, c, self.kernel[0], self.kernel[1])))
        if self.use_bias:
            self.views.append(("bias", (oc,)))

    def _setup_pool(self, where):
        self._need_image(where)
        c, h, w = self.in_shape
        self.kernel = _pair(self.spec.get("pool", 2), f"{where}.pool")
        self.stride = _pair(self.spec.get("stride", list(self.kernel)), f"{where}.stride")
        if self.kernel[0] > h or self.kernel[1] > w:
            raise ConfigError(f"{where} ({self.type}): pool window {self.kernel[0]}x{self.kernel[1]} is "
                              f"larger than the input {h}x{w}")
        self.out_shape = (c, (h - self.kernel[0]) // self.stride[0] + 1, (w - self.kernel[1]) // self.stride[1] + 1)

    _setup_maxpool2d = _setup_pool
    _setup_avgpool2d = _setup_pool

    def _setup_flatten(self, where):
        self.out_shape = (math.prod(self.in_shape),)

    def _setup_dense(self, where):
        if len(self.in_shape) != 1:
            raise ConfigError(f"{where} (dense): input has shape {self.in_shape}; dense needs a flat input: "
                              "add a flatten layer before it")
        n = int(self.spec["units"])
        self.out_shape = (n,)
        self.views.append(("weight", (n, self.in_shape[0])))
        if self.use_bias:
            self.views.append(("bias", (n,)))

    def _setup_dropout(self, where):
        self.out_shape = self.in_shape

    def _setup_activation(self, where):
        self.out_shape = self.in_shape

    def _setup_batchnorm(self, where):
        if len(self.in_shape) not in (1, 3):
            raise ConfigError(f"{where} (batchnorm): input has shape {self.in_shape}; batchnorm goes after conv2d "
                              "(C, H, W) or dense (D)")
        c = self.in_shape[0]
        self.out_shape = self.in_shape
        self.momentum = float(self.spec.get("momentum", 0.1))
        self.epsilon = float(self.spec.get("epsilon", 1e-5))
        self.affine = bool(self.spec.get("affine", True))
        if self.affine:
            self.views += [("gamma", (c,)), ("beta", (c,))]
        self.views += [("running_mean", (c,)), ("running_var", (c,))]  # buffers: never trained

    def _setup_recurrent(self, where):
        if len(self.in_shape) != 2:
            raise ConfigError(f"{where} ({self.type}): input must be a sequence (T, F), got {self.in_shape}")
        t, f = self.in_shape
        h = int(self.spec["units"])
        self.units = h
        g = GATES[self.type]
        if self.type == "rnn":
            if self.activation not in ("tanh", "relu"):
                raise ConfigError(f"{where} (rnn): activation {self.activation!r}; use \"tanh\" or \"relu\"")
            self.views += [("U", (h, f)), ("W", (h, h)), ("b", (h,))]
        elif self.type == "lstm":
            self.views += [("weight_ih", (g * h, f)), ("weight_hh", (g * h, h)), ("bias", (g * h,))]
        else:
            self.views += [("weight_ih", (g * h, f)), ("weight_hh", (g * h, h)), ("bias_ih", (g * h,)),
                           ("bias_hh", (g * h,))]
        self.out_shape = (t, h) if self.return_sequences else (h,)

    def _setup_esn(self, where):
        """The echo state network's fixed reservoir (src/esn.c): buffers, never trained."""
        if len(self.in_shape) != 2:
            raise ConfigError(f"{where} (esn): input must be a sequence (T, F), got {self.in_shape}")
        t, f = self.in_shape
        h = int(self.spec["units"])
        self.units = h
        self.leak_rate = float(self.spec.get("leak_rate", 1.0))
        self.washout = int(self.spec.get("washout", 0))
        self.concat_input = bool(self.spec.get("concat_input", self.spec.get("include_input", False)))
        self.square_states = bool(self.spec.get("square_states", self.spec.get("squared_states", False)))
        self.views += [("W_in", (h, f)), ("W", (h, h))]
        if float(self.spec.get("bias_scaling", 0.0)) > 0:
            self.views.append(("b", (h,)))
        d = h + (f if self.concat_input else 0)
        self.out_shape = (t - self.washout, d) if self.return_sequences else (d,)

    _setup_rnn = _setup_recurrent
    _setup_lstm = _setup_recurrent
    _setup_gru = _setup_recurrent

    @property
    def nparams(self):
        return sum(math.prod(s) for _, s in self.views)

    def __repr__(self):
        return f"<advml layer {self.name} {self.in_shape} -> {self.out_shape}>"


def load_config(config):
    """A config as a dict: a dict is returned as is, a str is JSON text or a file
    name (a .json file, or a checkpoint/run file whose config_json is used)."""
    if isinstance(config, dict):
        return config
    if isinstance(config, (bytes, str)) and str(config).lstrip().startswith("{"):
        return json.loads(config)
    path = str(config)
    if path.endswith(".h5"):
        import h5py
        with h5py.File(path, "r") as f:
            text = f.attrs.get("config_json")
        if text is None:
            raise ConfigError(f"{path}: no config_json attribute")
        return json.loads(text.decode() if isinstance(text, bytes) else text)
    with open(path) as fh:
        return json.load(fh)


class Model:
    """A config's model: input shape, loss and the layers (advml.model.Layer).

    Model(config, input_shape=None): config as load_config takes it; the input
    shape comes from its "input" (checkpoints always have it), else from
    input_shape (e.g. a dataset's per-sample shape)."""

    def __init__(self, config, input_shape=None):
        self.config = load_config(config)
        inp = self.config.get("input", input_shape)
        if inp is None:
            raise ConfigError("the config has no \"input\" (the per-sample input shape); pass input_shape=")
        self.input_shape = tuple(int(x) for x in inp)
        self.loss = self.config.get("loss", "categorical_crossentropy")
        model = self.config.get("model")
        if not isinstance(model, list) or not model:
            raise ConfigError("model: expected a non-empty list of layers")
        self.layers = []
        shape = self.input_shape
        for i, spec in enumerate(model):
            if not isinstance(spec, dict):
                raise ConfigError(f"model[{i}]: expected a layer object, got {spec!r}")
            L = Layer(i, spec, shape)
            self.layers.append(L)
            shape = L.out_shape
        self.output_shape = shape

    @property
    def views(self):
        """[(path, shape)] of every parameter in buffer order: path is
        "layerNN_KIND/NAME" under the checkpoint's /params."""
        return [(f"{L.name}/{n}", s) for L in self.layers for n, s in L.views]

    @property
    def nparams(self):
        return sum(L.nparams for L in self.layers)
