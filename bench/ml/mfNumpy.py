"""Plain numpy SGD for matrix factorization with biases: the baseline of bench/ml/train.ts.

The same model and algorithm as Cairn's train.matrix-factorization: r = mu + b_u + b_i + p_u.q_i, mini-batch SGD on
the per-rating loss 0.5 e^2 + 0.5 l2 (|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2) summed over the batch (each rating's gradient
lands on its own rows; np.add.at sums repeated rows), factors drawn from N(0, 0.1^2), biases from 0, mu the training
mean, a fresh shuffle per epoch. `--per-rating` runs the textbook loop instead (one update per rating, batch 1).

`--valid-fraction F --patience P` hold out a seeded share F of the training ratings and stop when their RMSE has not
improved for P epochs, keeping the best epoch's factors (as Cairn's `valid_fraction` and `early_stopping`).

Usage: /usr/bin/python3 mfNumpy.py TRAIN.csv TEST.csv EPOCHS FACTORS LR L2 BATCH SEED [--per-rating]
       [--valid-fraction F] [--patience P]
Prints one JSON line: {"rmse": test RMSE (predictions clipped to the training range), "rmse_known": the same on the test
rows whose user and item both have training ratings, "known_rows", "epochs": epochs kept, "seconds": training wall time,
"cpu_seconds": training CPU time of this process}.
"""
import csv
import json
import sys
import time

import numpy as np


def read(path):
    """userId, movieId, rating of a CSV with a header (the csv module: titles hold quoted commas)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    col = lambda name, kind: np.array([kind(row[name]) for row in rows])
    return col("userId", int), col("movieId", int), col("rating", float)


def main():
    train_path, test_path = sys.argv[1], sys.argv[2]
    epochs, factors = int(sys.argv[3]), int(sys.argv[4])
    lr, l2 = float(sys.argv[5]), float(sys.argv[6])
    batch, seed = int(sys.argv[7]), int(sys.argv[8])
    per_rating = "--per-rating" in sys.argv
    option = lambda name, default: type(default)(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default
    valid_fraction, patience = option("--valid-fraction", 0.0), option("--patience", 0)
    u_raw, i_raw, r = read(train_path)
    users = {v: k for k, v in enumerate(dict.fromkeys(u_raw.tolist()))}
    items = {v: k for k, v in enumerate(dict.fromkeys(i_raw.tolist()))}
    u = np.array([users[v] for v in u_raw.tolist()])
    i = np.array([items[v] for v in i_raw.tolist()])
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(r))
    n_valid = int(round(len(r) * valid_fraction))
    valid, fit = rows[:n_valid], np.sort(rows[n_valid:])
    f32 = np.float32
    P = (rng.standard_normal((len(users), factors)) * 0.1).astype(f32)
    Q = (rng.standard_normal((len(items), factors)) * 0.1).astype(f32)
    bu = np.zeros(len(users), f32)
    bi = np.zeros(len(items), f32)
    mu = f32(r[fit].mean())
    r32 = r.astype(f32)
    lr32, decay = f32(lr), f32(lr * l2)

    start = time.perf_counter()
    cpu_start = time.process_time()
    best, best_epoch, kept = np.inf, 0, None
    for epoch in range(1, epochs + 1):
        order = fit[rng.permutation(len(fit))]
        if per_rating:
            for k in order:
                a, b = u[k], i[k]
                e = r32[k] - (mu + bu[a] + bi[b] + P[a] @ Q[b])
                pa = P[a].copy()
                P[a] += lr32 * e * Q[b] - decay * P[a]
                Q[b] += lr32 * e * pa - decay * Q[b]
                bu[a] += lr32 * e - decay * bu[a]
                bi[b] += lr32 * e - decay * bi[b]
            continue
        for s in range(0, len(order), batch):
            k = order[s:s + batch]
            a, b = u[k], i[k]
            pa, qb = P[a], Q[b]
            e = (r32[k] - (mu + bu[a] + bi[b] + np.einsum("ij,ij->i", pa, qb))) * lr32
            np.add.at(P, a, e[:, None] * qb - decay * pa)
            np.add.at(Q, b, e[:, None] * pa - decay * qb)
            np.add.at(bu, a, e - decay * bu[a])
            np.add.at(bi, b, e - decay * bi[b])
        if n_valid:
            a, b = u[valid], i[valid]
            err = r32[valid] - (mu + bu[a] + bi[b] + np.einsum("ij,ij->i", P[a], Q[b]))
            loss = float(np.mean(err.astype(np.float64) ** 2))
            if loss < best:
                best, best_epoch, kept = loss, epoch, (P.copy(), Q.copy(), bu.copy(), bi.copy())
            elif patience and epoch - best_epoch >= patience:
                break
    if kept is not None:
        P, Q, bu, bi = kept
    else:
        best_epoch = epoch
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start

    tu_raw, ti_raw, tr = read(test_path)
    pred = np.full(len(tr), mu, dtype=np.float64)
    known = np.zeros(len(tr), dtype=bool)
    for k, (a, b) in enumerate(zip(tu_raw.tolist(), ti_raw.tolist())):
        ua, ib = users.get(a), items.get(b)
        s = float(mu)
        if ua is not None:
            s += float(bu[ua])
        if ib is not None:
            s += float(bi[ib])
        if ua is not None and ib is not None:
            s += float(P[ua] @ Q[ib])
            known[k] = True
        pred[k] = s
    pred = np.clip(pred, r.min(), r.max())
    sq = (pred - tr) ** 2
    print(json.dumps({"rmse": float(np.sqrt(np.mean(sq))), "rmse_known": float(np.sqrt(np.mean(sq[known]))) if known.any() else None,
                      "known_rows": int(known.sum()), "epochs": best_epoch, "seconds": seconds, "cpu_seconds": cpu_seconds}))


if __name__ == "__main__":
    main()
