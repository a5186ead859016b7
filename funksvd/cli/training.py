"""``funksvd fit``, ``funksvd evaluate`` and ``funksvd cv``: models on real data."""

from __future__ import annotations

import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path


from ..base.errors import DivergenceError, InputError
from ..base.measures import mean_absolute, root_mean_square
from ..estimator import ENGINES
from ..maths.rules import RULES
from ..maths.svdpp import VARIANTS
from .data import load_data
from .gradients import seed

__all__ = ["register"]

_DATA_HELP = ("ratings: a MovieLens folder, zip or release name (ml-100k, ml-1m, ...; downloaded once), "
              "or a file of 'user item rating' lines")


def register(sub) -> None:
    text = "fit a model (FunkSVD, or --model svdpp or als) to DATA and save it to MODEL (.npz)"
    cmd = sub.add_parser("fit", help=text, description=text)
    cmd.add_argument("data", metavar="DATA", help=_DATA_HELP)
    cmd.add_argument("--out", "-o", metavar="MODEL", required=True, help="where to save the model (.npz)")
    _encoding_option(cmd)
    _model_options(cmd)
    cmd.set_defaults(run=_fit)

    text = ("RMSE and MAE of the saved MODEL on held-out ratings in DATA (raw ids), and its top-k lists "
            "(items rated in training left out) against them; pairs the model was trained on are counted "
            "and left out of the top-k measures")
    cmd = sub.add_parser("evaluate", help=text, description=text)
    cmd.add_argument("model", metavar="MODEL", help="a model saved by funksvd fit")
    cmd.add_argument("data", metavar="DATA", help=_DATA_HELP)
    _encoding_option(cmd)
    _ranking_options(cmd)
    cmd.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    cmd.set_defaults(run=_evaluate)

    text = "k-fold cross-validated RMSE, MAE and top-k measures of a model (FunkSVD, SVDpp or ALS) on DATA"
    cmd = sub.add_parser("cv", help=text, description=text)
    cmd.add_argument("data", metavar="DATA", help=_DATA_HELP)
    cmd.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    _encoding_option(cmd)
    _ranking_options(cmd)
    _model_options(cmd)
    cmd.set_defaults(run=_cv)


def _encoding_option(cmd) -> None:
    cmd.add_argument("--encoding", default="utf-8",
                     help="text encoding of a delimited DATA file (default utf-8; e.g. latin-1); the MovieLens "
                          "layouts use their own")


def _bars(args) -> bool:
    """Progress bars: unless --quiet, and only when stderr is a terminal (not in a log file or a pipe)."""
    return not args.quiet and sys.stderr.isatty()


def _ranking_options(cmd) -> None:
    cmd.add_argument("-k", type=int, default=10, help="length of the top-k lists (default 10)")
    cmd.add_argument("--threshold", type=float, default=None,
                     help="lowest held-out rating that counts as relevant (default: every held-out item)")


#: The models ``--model`` chooses from (class names in :mod:`funksvd.estimator`).
MODELS = {"funksvd": "FunkSVD", "svdpp": "SVDpp", "als": "ALS"}


def _model_options(cmd) -> None:
    cmd.add_argument("--model", choices=sorted(MODELS), default="funksvd",
                     help="funksvd (biased MF by SGD), svdpp (SVD++, Surprise's SVDpp) or als (biased MF by "
                          "alternating least squares); --rule is funksvd's only, --lr not als' (default funksvd)")
    cmd.add_argument("--factors", type=int, default=None,
                     help="latent factors k (default: the model's, 100 funksvd, 20 svdpp, 50 als)")
    cmd.add_argument("--epochs", type=int, default=None, help="epochs (default: 20 funksvd and svdpp, 10 als)")
    cmd.add_argument("--lr", type=float, default=None,
                     help="learning rate of every block (default 0.005 funksvd, 0.007 svdpp)")
    cmd.add_argument("--reg", type=float, default=None,
                     help="regularisation of every block (default 0.02 funksvd and svdpp, 0.12 als)")
    cmd.add_argument("--rule", choices=sorted(RULES), help="per-rating update rule, funksvd only (default funk)")
    cmd.add_argument("--variant", choices=VARIANTS, help="how SVD++ steps the y_j, svdpp only (default lazy)")
    cmd.add_argument("--engine", choices=ENGINES, default="compiled", help="training engine (default compiled)")
    cmd.add_argument("--seed", type=seed, default=0, help="random_state of the model (default 0)")
    cmd.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _load(text: str, args=None):
    """``load_data(text)``; the loaders' ``ValueError`` (a malformed file: file and line) is the user's input error."""
    path = Path(text)
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{text} is empty: no ratings")
    try:
        return load_data(text, verbose=args is not None and _bars(args),
                         encoding=getattr(args, "encoding", "utf-8"))
    except InputError:
        raise
    except ValueError as error:  # only here: the data loaders report bad files as ValueError
        raise InputError(str(error)) from error


#: The estimator's learning-rate parameters as the command line spells them (it sets lr_all only).
_OPTIONS = {"lr_all": "--lr", "reg_all": "--reg", "n_factors": "--factors", "n_epochs": "--epochs"}


@contextmanager
def _options():
    """Say ``--lr`` where the estimator's errors say ``lr_all`` (and so on): the user typed the option."""
    try:
        yield
    except (DivergenceError, InputError) as error:
        text = re.sub(r"\b(" + "|".join(_OPTIONS) + r")\b", lambda m: _OPTIONS[m.group(1)], str(error))
        if text == str(error):
            raise
        raise type(error)(text) from error


def _model(args, verbose: bool):
    from .. import estimator

    kind = getattr(args, "model", "funksvd")
    cls = getattr(estimator, MODELS[kind])
    given = {"n_factors": args.factors, "n_epochs": args.epochs, "lr_all": args.lr, "reg_all": args.reg}
    params = {name: value for name, value in given.items() if value is not None}  # else the model's default
    if "lr_all" in params and "lr_all" not in cls._param_names():
        raise InputError(f"--lr does not apply to --model {kind}: each half-step is solved exactly, without a "
                         "learning rate")
    for name in ("rule", "variant"):  # one model's own option: refused for another, never silently ignored
        value = getattr(args, name, None)
        if value is not None and name not in cls._param_names():
            raise InputError(f"--{name} does not apply to --model {kind}")
        if value is not None:
            params[name] = value
    return cls(**params, engine=args.engine, random_state=args.seed, verbose=verbose)


def _fit(args) -> int:
    from ..base.files import check_target

    check_target(args.out, "the model")  # say so before a long fit, not after it
    data = _load(args.data, args)
    model = _model(args, verbose=_bars(args))
    tic = time.perf_counter()
    with _options():
        model.fit(data)
    seconds = time.perf_counter() - tic
    model.verbose = False  # saved and shown without the progress bar
    model.save(args.out)
    last = model.history_[model.best_epoch_ - 1]
    # the SGD engines record the running training RMSE; the TensorFlow engine records only its loss
    measured = (f"training RMSE {last['train_rmse']:.4f}" if last["train_rmse"] is not None
                else f"training loss {last['loss']:.6g}")
    print(f"fitted {model!r} on {len(data.ratings)} ratings ({data.ratings.n_users} users, "
          f"{data.ratings.n_items} items) in {seconds:.1f} s; {measured} (epoch {model.best_epoch_})")
    print(f"saved to {args.out}")
    return 0


def _evaluate(args) -> int:
    from ..estimator import FunkSVD
    from ..estimator.raw import raw_triples
    from ..evaluation import evaluate_ranking
    from ..evaluation.top_n import pairs_in
    from ..model.ratings import Ratings

    model = FunkSVD.load(args.model)
    if model.user_ids_ is None:
        raise InputError(f"{args.model} was fitted on bare indices, not on a dataset with raw ids")
    users, items, values = raw_triples(_load(args.data, args))
    r_hat, known = model.predict(users, items, unknown="baseline", return_known=True)
    e = values - r_hat
    print(f"RMSE {root_mean_square(e):.4f}  MAE {mean_absolute(e):.4f}  on {len(values)} ratings")
    if not known.all():
        print(f"{int((~known).sum())} of them involve a user or item the model does not know (or that had no "
              "ratings in its training data): predicted from the global mean and the known biases, "
              "left out of the top-k lists")
    if not known.any():
        return 0
    f = model.factors_
    held = Ratings(model.user_index(users[known]), model.item_index(items[known]), values[known], f.n_users, f.n_items)
    train = model.training_ratings()
    seen = pairs_in(held, train)
    if seen.all():
        print(f"all {len(held)} pairs of known users and items are training pairs (the model was fitted on them): "
              "no ranking measures, since the top-k lists leave out the items a user rated in training "
              "(evaluate on held-out ratings)")
        return 0
    if seen.any():
        print(f"{int(seen.sum())} of the {len(held)} pairs of known users and items are training pairs (the model "
              "was fitted on them); the top-k lists leave out the items a user rated in training, so the ranking "
              f"measures count only the {int((~seen).sum())} held-out pairs")
        held = held.subset(~seen)
    found = evaluate_ranking(model, train, held, k=args.k, threshold=args.threshold, verbose=_bars(args))
    print("  ".join(f"{name} {found[name]:.4f}" for name in found if "@" in name)
          + f"  over {found['n_users']} users")
    return 0


def _cv(args) -> int:
    from ..evaluation import cross_validate

    if args.k < 1:
        raise InputError(f"-k must be a positive integer, got {args.k}")
    data = _load(args.data, args)
    if not 2 <= args.folds <= len(data.ratings):
        raise InputError(f"--folds must be between 2 and the number of ratings ({len(data.ratings)}), "
                         f"got {args.folds}")
    k = args.k
    with _options():
        results = cross_validate(_model(args, verbose=_bars(args)), data, cv=args.folds,
                                 measures=("rmse", "mae", f"precision@{k}", f"recall@{k}", f"ndcg@{k}"),
                                 random_state=args.seed, threshold=args.threshold, progress=_bars(args))
    print(results.summary())
    return 0
