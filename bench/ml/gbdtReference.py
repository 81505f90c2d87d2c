"""Reference gradient boosting for bench/ml/gbdt.ts: scikit-learn HistGradientBoosting and XGBoost `hist` (Debian
python3-sklearn, python3-xgboost) on the encoded matrices the benchmark wrote, with the same trees, depth, learning
rate and L2. Prints one JSON line: per library the test metric (ROC AUC or RMSE) and the fastest of `repeats` fits
(wall and CPU seconds).

Usage: OMP_NUM_THREADS=T /usr/bin/python3 gbdtReference.py DIR TASK WIDTH TREES DEPTH LR L2 THREADS REPEATS
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import mean_squared_error, roc_auc_score

d, task, width, trees, depth, lr, l2, threads, repeats = sys.argv[1:10]
width, trees, depth, threads, repeats = int(width), int(trees), int(depth), int(threads), int(repeats)
lr, l2 = float(lr), float(l2)
x_train = np.fromfile(f"{d}/train_x.f32", dtype=np.float32).reshape(-1, width)
y_train = np.fromfile(f"{d}/train_y.f64", dtype=np.float64)
x_test = np.fromfile(f"{d}/test_x.f32", dtype=np.float32).reshape(-1, width)
y_test = np.fromfile(f"{d}/test_y.f64", dtype=np.float64)
classify = task == "classification"


def models():
    common = dict(max_iter=trees, max_depth=depth, learning_rate=lr, l2_regularization=l2, max_leaf_nodes=None,
                  min_samples_leaf=1, max_bins=255, early_stopping=False, random_state=0)
    xgb_common = dict(n_estimators=trees, max_depth=depth, learning_rate=lr, reg_lambda=l2, min_child_weight=1,
                      tree_method="hist", max_bin=256, n_jobs=threads, random_state=0)
    if classify:
        yield "sklearn", HistGradientBoostingClassifier(**common)
        yield "xgboost", xgb.XGBClassifier(objective="binary:logistic", **xgb_common)
    else:
        yield "sklearn", HistGradientBoostingRegressor(**common)
        yield "xgboost", xgb.XGBRegressor(objective="reg:squarederror", **xgb_common)


out = {}
for name, model in models():
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
    out[name] = {"metric": metric, "seconds": best, "cpu": cpu}
print(json.dumps(out))
