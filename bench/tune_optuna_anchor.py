#!/usr/bin/python3
"""Optuna's side of the tuning benchmark (bench/lib-tune-quality.ts; the objectives are defined in bench/README.md).

usage: tune_optuna_anchor.py OBJECTIVE METHOD BUDGET SEEDS
  OBJECTIVE  branin | hartmann6 | curves
  METHOD     tpe | random            (branin, hartmann6: BUDGET trials)
             asha | median           (curves: BUDGET total epochs, random sampler)
  SEEDS      one seed, A-B (inclusive) or a comma list
Prints one JSON object per seed per line:
  functions: {"seed": s, "best": [best value after trial 1, 2, …]}
  curves:    {"seed": s, "final": noise-free final value of the chosen trial, "trials": n, "completed": k}
tune_optuna_anchor.py check   prints the objectives at fixed points (the bench compares them with its own).
"""
import json
import math
import sys
import warnings

T_MAX = 27
NOISE = 0.01
OPTIMIZERS = ["sgd", "adam", "rmsprop"]
OPT_FLOOR = {"sgd": 0.04, "adam": 0.0, "rmsprop": 0.02}
OPT_SPEED = {"sgd": 0.7, "adam": 1.2, "rmsprop": 1.0}


def branin(x1, x2):
    b = 5.1 / (4 * math.pi ** 2)
    c = 5 / math.pi
    t = 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


H_ALPHA = [1.0, 1.2, 3.0, 3.2]
H_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
H_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
       [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def hartmann6(x):
    total = 0.0
    for i in range(4):
        inner = sum(H_A[i][j] * (x[j] - H_P[i][j] * 1e-4) ** 2 for j in range(6))
        total -= H_ALPHA[i] * math.exp(-inner)
    return total


def curve(lr, momentum, layers, optimizer, t):
    u = math.log10(lr)
    a = 0.05 + 0.25 * ((u + 2.5) / 1.5) ** 2 + 0.15 * (momentum - 0.8) ** 2 + 0.02 * abs(layers - 5) + OPT_FLOOR[optimizer]
    c = 0.6 * 10 ** ((u + 1) / 2) * (1 + momentum) / 2 * OPT_SPEED[optimizer]
    b = 1 + 0.3 * layers / 8
    return a + b * math.exp(-c * t)


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            seeds.extend(range(int(lo), int(hi) + 1))
        else:
            seeds.append(int(part))
    return seeds


def run_function(optuna, objective, method, budget, seed):
    if method == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    elif method == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        raise SystemExit(f"unknown method {method} for {objective}")
    study = optuna.create_study(sampler=sampler, direction="minimize")
    best = []
    current = math.inf

    def f(trial):
        if objective == "branin":
            return branin(trial.suggest_float("x1", -5, 10), trial.suggest_float("x2", 0, 15))
        return hartmann6([trial.suggest_float(f"x{j}", 0, 1) for j in range(6)])

    for _ in range(budget):
        trial = study.ask()
        v = f(trial)
        study.tell(trial, v)
        current = min(current, v)
        best.append(current)
    return {"seed": seed, "best": best}


def run_curves(optuna, np, method, budget, seed):
    from optuna.trial import TrialState
    if method == "asha":
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=0)
    elif method == "median":
        pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=4)
    else:
        raise SystemExit(f"unknown method {method} for curves")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed), pruner=pruner, direction="minimize")
    noise = np.random.RandomState(seed + 104729)
    used = 0
    trials = 0
    completed = 0
    best_reported = math.inf
    best_true = None
    while used < budget:
        trial = study.ask()
        trials += 1
        lr = trial.suggest_float("lr", 1e-4, 1, log=True)
        mom = trial.suggest_float("momentum", 0, 0.99)
        layers = trial.suggest_int("layers", 1, 8)
        opt = trial.suggest_categorical("optimizer", OPTIMIZERS)
        state = None
        value = None
        for t in range(1, T_MAX + 1):
            if used >= budget:
                break
            used += 1
            value = curve(lr, mom, layers, opt, t) + noise.normal(0, NOISE)
            trial.report(value, t)
            if t < T_MAX and trial.should_prune():
                state = "pruned"
                break
        else:
            state = "complete"
        if state == "complete":
            study.tell(trial, value)
            completed += 1
            if value < best_reported:
                best_reported = value
                best_true = curve(lr, mom, layers, opt, T_MAX)
        elif state == "pruned":
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, state=TrialState.FAIL)
    return {"seed": seed, "final": best_true, "trials": trials, "completed": completed}


def check():
    points = {
        "branin": [[-math.pi, 12.275], [math.pi, 2.275], [0.0, 0.0], [7.3, 11.1]],
        "hartmann6": [[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573], [0.5] * 6, [0.1, 0.9, 0.3, 0.7, 0.2, 0.8]],
        "curves": [[1e-3, 0.9, 4, "adam", 1], [0.3, 0.1, 8, "sgd", 27], [1e-4, 0.5, 1, "rmsprop", 9]],
    }
    out = {
        "branin": [branin(*p) for p in points["branin"]],
        "hartmann6": [hartmann6(p) for p in points["hartmann6"]],
        "curves": [curve(*p) for p in points["curves"]],
    }
    print(json.dumps({"points": points, "values": out}))


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "check":
        check()
        return
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    objective, method, budget, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), parse_seeds(sys.argv[4])
    try:
        import numpy as np
        import optuna
    except ImportError as e:
        print(f"Optuna is not installed for {sys.executable} ({e}): apt-get install -y python3-optuna", file=sys.stderr)
        raise SystemExit(3)
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    for seed in seeds:
        if objective == "curves":
            result = run_curves(optuna, np, method, budget, seed)
        elif objective in ("branin", "hartmann6"):
            result = run_function(optuna, objective, method, budget, seed)
        else:
            raise SystemExit(f"unknown objective {objective}")
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
