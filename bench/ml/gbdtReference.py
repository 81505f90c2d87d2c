"""Reference gradient boosting for bench/ml/gbdt.ts: scikit-learn HistGradientBoosting and XGBoost `hist` (Debian
python3-sklearn, python3-xgboost) on the encoded matrices the benchmark wrote, with parameters equivalent to Cairn's:
the same trees, depth, learning rate, L2, bins, smallest child hessian and starting score. Prints one JSON line: per
library the test metric (ROC AUC or RMSE), the fastest of `repeats` fits (wall and CPU seconds) and the parameters the
library was given.

Usage: OMP_NUM_THREADS=T /usr/bin/python3 gbdtReference.py DIR TASK WIDTH TREES DEPTH LR L2 MIN_CHILD_WEIGHT THREADS REPEATS
"""
import json
import sys
import time

import numpy as np
import sklearn.ensemble._hist_gradient_boosting.gradient_boosting as hgb
import xgboost as xgb
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import mean_squared_error, roc_auc_score

d, task, width, trees, depth, lr, l2, mcw, threads, repeats = sys.argv[1:11]
width, trees, depth, threads, repeats = int(width), int(trees), int(depth), int(threads), int(repeats)
lr, l2, mcw = float(lr), float(l2), float(mcw)
x_train = np.fromfile(f"{d}/train_x.f32", dtype=np.float32).reshape(-1, width)
y_train = np.fromfile(f"{d}/train_y.f64", dtype=np.float64)
x_test = np.fromfile(f"{d}/test_x.f32", dtype=np.float32).reshape(-1, width)
y_test = np.fromfile(f"{d}/test_y.f64", dtype=np.float64)
classify = task == "classification"


class Grower(hgb.TreeGrower):
    """scikit-learn's tree grower with XGBoost's min_child_weight: HistGradientBoosting fixes the smallest child
    hessian (min_hessian_to_split) at 1e-3 and has no parameter for it, so the benchmark sets it here."""

    def __init__(self, *args, **kwargs):
        kwargs["min_hessian_to_split"] = mcw
        super().__init__(*args, **kwargs)


hgb.TreeGrower = Grower


def models():
    # max_leaf_nodes=None: no leaf cap (scikit-learn's default is 31), so its best-first growth makes the same
    # splits as depthwise growth to max_depth.
    common = dict(max_iter=trees, max_depth=depth, learning_rate=lr, l2_regularization=l2, max_leaf_nodes=None,
                  min_samples_leaf=1, max_bins=255, early_stopping=False, random_state=0)
    # base_score: the training mean (a probability for logistic), where scikit-learn and Cairn start; XGBoost 1.7's
    # default is 0.5. max_bin 255: the bins scikit-learn and Cairn have.
    xgb_common = dict(n_estimators=trees, max_depth=depth, learning_rate=lr, reg_lambda=l2, min_child_weight=mcw,
                      tree_method="hist", grow_policy="depthwise", max_bin=255, base_score=float(y_train.mean()),
                      n_jobs=threads, random_state=0)
    if classify:
        yield "sklearn", HistGradientBoostingClassifier(**common), common
        yield "xgboost", xgb.XGBClassifier(objective="binary:logistic", **xgb_common), xgb_common
    else:
        yield "sklearn", HistGradientBoostingRegressor(**common), common
        yield "xgboost", xgb.XGBRegressor(objective="reg:squarederror", **xgb_common), xgb_common


out = {}
for name, model, params in models():
    best = float("inf")
    cpu = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        c = time.process_time()
        model.fit(x_train, y_train)
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    if classify:
        metric = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    else:
        metric = mean_squared_error(y_test, model.predict(x_test)) ** 0.5
    shown = {k: v for k, v in params.items() if k not in ("random_state", "n_jobs", "base_score")}
    if name == "sklearn":
        shown["min_hessian_to_split"] = mcw
    else:
        shown["base_score"] = "mean(y)"
    out[name] = {"metric": metric, "seconds": best, "cpu": cpu, "params": shown}
print(json.dumps(out))
