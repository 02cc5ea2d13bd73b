"""The echo state network (esn layer) and the closed-form ridge readout end to end.

- the reservoir in the checkpoint: spectral radius by numpy.linalg.eigvals
  within 1e-4 of the request, its sparsity, W_in's range;
- the ridge readout against a NumPy solve: the reservoir's features
  recomputed in float64 from the checkpoint, the ridge problem solved by
  numpy.linalg.lstsq, compared with the checkpoint's dense weights, the
  predictions of advml-predict and the run file's train loss;
- ridge on 1, 2 and 3 ranks equal to tolerance; in reproducible mode
  bitwise equal;
- advml-predict --forecast of the esn model against a NumPy closed loop;
- gradient-descent readout: the reservoir never moves, 1 vs 2 ranks (to
  rounding, and bitwise in reproducible mode), a resumed run equals the
  uninterrupted one bit for bit;
- bad settings: clear errors naming the layer and key, no hang;
- the Python package: reads the checkpoint; to_torch computes advml-predict's
  values; save_checkpoint gives the weights back bit for bit.
"""
import json
import os
import sys

from rnncommon import (check, cleanup, expect_error, fail, params, predict_ok, run, run_ok, tmpdir,
                       write_config, write_sequences)
import h5py
import numpy as np

SRC = os.environ["ADVML_SRC"]
T, F, NTRAIN, NVAL = 15, 2, 300, 80
LAMBDA = 1e-3
RADIUS = 0.8
SPARSITY = 0.85  # 240 of 1600 weights expected: under H^2 / 4, the reservoir's product goes by its sparse rows


def make_data(path):
    """Windows of T steps of a 2-feature signal (x, y of a slowly drifting
    Lissajous curve with a little noise); target: the next step (x, y)."""
    rng = np.random.default_rng(3)
    n = NTRAIN + NVAL + T + 1
    t = np.arange(n) * 0.11
    s = np.stack([np.sin(t) + 0.3 * np.sin(2.7 * t), np.cos(1.3 * t) * (1 + 0.2 * np.sin(0.2 * t))], axis=1)
    s += 0.01 * rng.standard_normal(s.shape)
    x = np.stack([s[i:i + T] for i in range(n - T - 1)])
    y = s[T:n - 1]
    write_sequences(path, x[:NTRAIN], y[:NTRAIN])
    write_sequences(path, x[NTRAIN:NTRAIN + NVAL], y[NTRAIN:NTRAIN + NVAL], split="validation", mode="a")
    return x[:NTRAIN + NVAL].astype(np.float32), y[:NTRAIN + NVAL].astype(np.float32)


def esn_layer(**kw):
    layer = {"type": "esn", "units": 40, "spectral_radius": RADIUS, "sparsity": SPARSITY, "input_scaling": 0.6,
             "bias_scaling": 0.3, "leak_rate": 0.6, "concat_input": True, "seed": 5}
    layer.update(kw)
    return layer


def config(d, name, data, training=None, layer=None, optimizer=None):
    tr = {"epochs": 1, "batch_size": 32, "seed": 42, "data": data, "readout": "ridge", "ridge_lambda": LAMBDA}
    tr.update(training or {})
    for k in [k for k, v in tr.items() if v is None]:
        del tr[k]
    cfg = {"input": [T, F], "model": [layer or esn_layer(), {"type": "dense", "units": 2}], "loss": "mse",
           "training": tr}
    if optimizer:
        cfg["optimizer"] = optimizer
    return write_config(os.path.join(d, name + ".json"), json.dumps(cfg))


def features(p, x, leak, concat=True):
    """The reservoir's last state (and last input) of each window, in float64."""
    w_in, w = p["layer00_esn/W_in"].astype(np.float64), p["layer00_esn/W"].astype(np.float64)
    b = p["layer00_esn/b"].astype(np.float64) if "layer00_esn/b" in p else 0.0
    h = np.zeros((x.shape[0], w.shape[0]))
    for t in range(x.shape[1]):
        h = (1 - leak) * h + leak * np.tanh(x[:, t].astype(np.float64) @ w_in.T + h @ w.T + b)
    return np.concatenate([h, x[:, -1].astype(np.float64)], axis=1) if concat else h


def ridge_numpy(X, Y, lam):
    """min ||Y - X W^T - c||^2 + lam ||W||^2 (the bias not penalised) by lstsq."""
    n, p = X.shape
    A = np.block([[X, np.ones((n, 1))], [np.sqrt(lam) * np.eye(p), np.zeros((p, 1))]])
    B = np.vstack([Y, np.zeros((p, Y.shape[1]))])
    sol = np.linalg.lstsq(A, B, rcond=None)[0]
    return sol[:p].T, sol[p]


def main():
    d = tmpdir("esn")
    data = os.path.join(d, "seq.h5")
    x, y = make_data(data)
    xtr, ytr, xva = x[:NTRAIN], y[:NTRAIN], x[NTRAIN:]

    # ---- ridge on 1 rank: the reservoir and the readout against NumPy
    cfg = config(d, "ridge", data)
    run_ok(["--config", cfg, "--out", os.path.join(d, "r1.h5")], np_=1)
    p1 = params(os.path.join(d, "r1.ckpt.h5"))
    W = p1["layer00_esn/W"].astype(np.float64)
    rho = np.abs(np.linalg.eigvals(W)).max()
    check(abs(rho - RADIUS) < 1e-4, "spectral radius of the stored reservoir %.7f within 1e-4 of %g" % (rho, RADIUS))
    zeros = np.mean(W == 0)
    check(abs(zeros - SPARSITY) < 0.05, "reservoir sparsity %.3f (requested %g)" % (zeros, SPARSITY))
    check(np.abs(p1["layer00_esn/W_in"]).max() <= 0.6 and np.abs(p1["layer00_esn/b"]).max() <= 0.3,
          "W_in within +-input_scaling, b within +-bias_scaling")
    X = features(p1, xtr, 0.6)
    w_np, c_np = ridge_numpy(X, ytr.astype(np.float64), LAMBDA)
    w_ad, c_ad = p1["layer01_dense/weight"].astype(np.float64), p1["layer01_dense/bias"].astype(np.float64)
    dw = max(np.abs(w_ad - w_np).max(), np.abs(c_ad - c_np).max())
    scale = max(np.abs(w_np).max(), np.abs(c_np).max())
    check(dw <= 1e-4 * scale, "ridge readout = numpy lstsq of the recomputed features (max |dw| %.2e, max |w| %.3g)"
          % (dw, scale))
    with h5py.File(os.path.join(d, "r1.h5"), "r") as f:
        a = dict(f.attrs)
        train_loss = f["metrics/epoch/train_loss"][0]
        lr = f["metrics/epoch/learning_rate"][0]
    check(a.get("readout") in ("ridge", b"ridge") and a["ridge_lambda"] == LAMBDA and a["ridge_rows"] == NTRAIN
          and a["ridge_solve_seconds"] > 0 and a["ridge_accumulate_seconds"] > 0,
          "run file: readout ridge, lambda %g, %d rows, solve %.2e s, accumulate %.2e s"
          % (a["ridge_lambda"], a["ridge_rows"], a["ridge_solve_seconds"], a["ridge_accumulate_seconds"]))
    mse_np = np.mean((X @ w_np.T + c_np - ytr) ** 2)
    check(abs(train_loss - mse_np) <= 1e-3 * mse_np and np.isnan(lr),
          "run file's train loss %.6g = numpy's ridge MSE %.6g; no learning rate" % (train_loss, mse_np))

    # advml-predict and its closed-loop forecast
    pred = os.path.join(d, "pred.h5")
    predict_ok(["--checkpoint", os.path.join(d, "r1.ckpt.h5"), "--data", data, "--split", "validation",
                "--out", pred, "--forecast", "12", "--start", "5"])
    with h5py.File(pred, "r") as f:
        pv, fc = f["predictions"][...], f["forecast/predicted"][...]
    pv_np = features(p1, xva, 0.6) @ w_ad.T + c_ad
    check(np.abs(pv - pv_np).max() < 1e-4, "advml-predict = numpy's readout of the reservoir (max diff %.2e)"
          % np.abs(pv - pv_np).max())
    win = xva[5].astype(np.float64).copy()
    loop = []
    for _ in range(12):  # the window shifts by one step; the prediction becomes the newest input
        out = features(p1, win[None], 0.6) @ w_ad.T + c_ad
        loop.append(out[0])
        win = np.vstack([win[1:], out])
    loop = np.array(loop)
    check(np.abs(fc - loop).max() < 1e-3, "--forecast 12 = numpy closed loop (max diff %.2e)" % np.abs(fc - loop).max())

    # ---- 1, 2, 3 ranks
    for n in (2, 3):
        run_ok(["--config", cfg, "--out", os.path.join(d, "r%d.h5" % n)], np_=n)
        pn = params(os.path.join(d, "r%d.ckpt.h5" % n))
        same_res = all(np.array_equal(pn[k], p1[k]) for k in p1 if k.startswith("layer00"))
        dw = max(np.abs(pn[k] - p1[k]).max() / np.abs(p1[k]).max() for k in p1 if k.startswith("layer01"))
        check(same_res and dw < 1e-4, "ridge on %d ranks: the same reservoir, readout within %.1e (relative) of 1 rank"
              % (n, dw))
    rcfg = config(d, "rep", data, training={"reproducible": True, "slots": 3})
    ref = None
    for n in (1, 2, 3):
        run_ok(["--config", rcfg, "--out", os.path.join(d, "rep%d.h5" % n)], np_=n)
        pn = params(os.path.join(d, "rep%d.ckpt.h5" % n))
        if ref is None:
            ref = pn
            continue
        check(all(np.array_equal(pn[k], ref[k]) for k in ref), "reproducible ridge: %d ranks bitwise equal to 1" % n)

    # ---- gradient-descent readout: the reservoir stays, N-invariance, resume
    gd = {"readout": None, "ridge_lambda": None, "epochs": 3}
    gcfg = config(d, "gd", data, training=gd, optimizer={"name": "adam", "lr": 0.01})
    run_ok(["--config", gcfg, "--out", os.path.join(d, "g0.h5"), "--max-steps", "0"], np_=1)
    run_ok(["--config", gcfg, "--out", os.path.join(d, "g1.h5")], np_=1)
    run_ok(["--config", gcfg, "--out", os.path.join(d, "g2.h5")], np_=2)
    g0, g1, g2 = (params(os.path.join(d, "g%d.ckpt.h5" % i)) for i in range(3))
    check(all(np.array_equal(g0[k], g1[k]) for k in g0 if k.startswith("layer00")) and
          not np.array_equal(g0["layer01_dense/weight"], g1["layer01_dense/weight"]),
          "gradient readout: the dense layer trains, the reservoir is not moved")
    dg = max(np.abs(g1[k] - g2[k]).max() for k in g1)
    check(dg < 1e-5, "gradient readout: 2 ranks = 1 rank (max |dw| %.1e)" % dg)
    rg = config(d, "gdrep", data, training=dict(gd, reproducible=True, slots=2), optimizer={"name": "adam", "lr": 0.01})
    run_ok(["--config", rg, "--out", os.path.join(d, "gr1.h5")], np_=1)
    run_ok(["--config", rg, "--out", os.path.join(d, "gr2.h5")], np_=2)
    gr1, gr2 = params(os.path.join(d, "gr1.ckpt.h5")), params(os.path.join(d, "gr2.ckpt.h5"))
    check(all(np.array_equal(gr1[k], gr2[k]) for k in gr1), "reproducible gradient readout: 2 ranks bitwise equal to 1")
    run_ok(["--config", gcfg, "--out", os.path.join(d, "g3.h5"), "--epochs", "1"], np_=1)
    run_ok(["--resume", os.path.join(d, "g3.ckpt.h5"), "--epochs", "3"], np_=1)
    g3 = params(os.path.join(d, "g3.ckpt.h5"))
    check(all(np.array_equal(g3[k], g1[k]) for k in g1), "resumed 1 + 2 epochs = 3 epochs, bit for bit")

    # ---- bad settings
    bad = [({"spectral_radius": 0}, "model[0].spectral_radius: expected a number > 0, got 0"),
           ({"sparsity": 1.0}, "model[0].sparsity: expected a number in [0, 1), got 1"),
           ({"leak_rate": 0}, "model[0].leak_rate: expected a number in (0, 1], got 0"),
           ({"units": 300000}, "layer 0 (esn): a reservoir of 300000 units"),
           ({"washout": 3}, "layer 0 (esn): washout 3 needs return_sequences: true")]
    for i, (kw, phrase) in enumerate(bad):
        c = config(d, "bad%d" % i, data, layer=esn_layer(**kw))
        rc, out, err = run(["--config", c, "--out", os.path.join(d, "bad%d.h5" % i)], np_=2, timeout=60)
        check(rc != 0 and phrase in err, "bad setting %s: exit %d, %r" % (kw, rc, phrase))
        check(not os.path.exists(os.path.join(d, "bad%d.ckpt.h5" % i)), "bad setting %s: no checkpoint" % kw)
    c = write_config(os.path.join(d, "badr.json"), json.dumps({
        "input": [T, F], "loss": "mse",
        "model": [{"type": "rnn", "units": 4, "return_sequences": True}, esn_layer(), {"type": "dense", "units": 2}],
        "training": {"data": data, "readout": "ridge"}}))
    rc, out, err = run(["--config", c], np_=1, timeout=60)
    expect_error("ridge after a trainable layer", rc, err, 2,
                 "training.readout: \"ridge\" fits only the last layer, but layer 0 (rnn) has trainable weights")

    # ---- the Python package
    sys.path.insert(0, os.path.join(SRC, "python"))
    import advml
    ck = advml.Checkpoint(os.path.join(d, "r1.ckpt.h5"))
    check([L.type for L in ck.model.layers] == ["esn", "dense"] and ck.model.layers[0].out_shape == (42,)
          and ck.params["layer00_esn/W"].shape == (40, 40), "advml.Checkpoint reads the esn model")
    import torch
    from advml.pytorch import save_checkpoint, to_torch
    net = to_torch(ck)
    with torch.no_grad():
        pt = net(torch.from_numpy(xva)).numpy()
    check(np.abs(pt - pv).max() < 1e-5, "advml.pytorch.to_torch(esn checkpoint) = advml-predict (max diff %.1e)"
          % np.abs(pt - pv).max())
    rt = os.path.join(d, "rt.ckpt.h5")
    save_checkpoint(net, os.path.join(d, "r1.ckpt.h5"), rt)
    prt = params(rt)
    check(all(np.array_equal(prt[k], p1[k]) for k in p1) and set(prt) == set(p1),
          "save_checkpoint(to_torch(...)) gives the reservoir and readout back bit for bit")
    predict_ok(["--checkpoint", rt, "--data", data, "--split", "validation", "--out", os.path.join(d, "rt.h5")])
    with h5py.File(os.path.join(d, "rt.h5"), "r") as f:
        check(np.array_equal(f["predictions"][...], pv), "advml-predict on the round-tripped checkpoint: the same")
    # the sequence output from washout on (the even units squared), flattened into the readout
    scfg = write_config(os.path.join(d, "seq.json"), json.dumps({
        "input": [T, F], "loss": "mse",
        "model": [esn_layer(return_sequences=True, washout=10, units=12, square_states=True), {"type": "flatten"},
                  {"type": "dense", "units": 2}],
        "training": {"data": data, "readout": "ridge", "ridge_lambda": LAMBDA}}))
    run_ok(["--config", scfg, "--out", os.path.join(d, "seqrun.h5")], np_=2)
    predict_ok(["--checkpoint", os.path.join(d, "seqrun.ckpt.h5"), "--data", data, "--split", "validation",
                "--out", os.path.join(d, "seqp.h5")])
    sck = advml.Checkpoint(os.path.join(d, "seqrun.ckpt.h5"))
    with h5py.File(os.path.join(d, "seqp.h5"), "r") as f:
        ps = f["predictions"][...]
    with torch.no_grad():
        features_seq = to_torch(sck)(torch.from_numpy(xva)).numpy()
    check(sck.model.layers[0].out_shape == (T - 10, 14) and np.abs(features_seq - ps).max() < 1e-5,
          "return_sequences with washout 10 and square_states: output (5, 14), to_torch = advml-predict "
          "(max diff %.1e)"
          % np.abs(features_seq - ps).max())
    fresh = to_torch(os.path.join(d, "ridge.json"))  # a config alone: a reservoir drawn as advml draws one
    rho = np.abs(np.linalg.eigvals(fresh.layer00_esn.W.double().numpy())).max()
    check(abs(rho - RADIUS) < 1e-4, "to_torch(config): its own reservoir scaled to radius %.6f" % rho)
    cleanup(d)


if __name__ == "__main__":
    main()
