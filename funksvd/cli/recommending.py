"""``funksvd recommend`` and ``funksvd similar``: what a saved model suggests, in the data's raw ids."""

from __future__ import annotations

from ..base.errors import InputError
from ..estimator.recommend import METRICS

__all__ = ["register"]


def register(sub) -> None:
    text = "the top-N items for a user of the saved MODEL (items the user rated are left out)"
    cmd = sub.add_parser("recommend", help=text, description=text)
    cmd.add_argument("model", metavar="MODEL", help="a model saved by funksvd fit")
    cmd.add_argument("--user", required=True, metavar="RAW_ID", help="the user's id in the data")
    cmd.add_argument("-n", type=int, default=10, help="how many items (default 10)")
    cmd.add_argument("--include-rated", action="store_true", help="keep the items the user rated")
    cmd.set_defaults(run=_recommend)

    text = "the items nearest to an item in the saved MODEL's factor space"
    cmd = sub.add_parser("similar", help=text, description=text)
    cmd.add_argument("model", metavar="MODEL", help="a model saved by funksvd fit")
    cmd.add_argument("--item", required=True, metavar="RAW_ID", help="the item's id in the data")
    cmd.add_argument("-n", type=int, default=10, help="how many items (default 10)")
    cmd.add_argument("--metric", choices=METRICS, default="cosine", help="similarity (default cosine)")
    cmd.set_defaults(run=_similar)


def _load(path):
    from ..estimator import FunkSVD

    return FunkSVD.load(path)


def _id(model, text: str, kind: str):
    """A raw id as typed: the id maps accept "196" for integer ids; a model on bare indices needs an int."""
    if getattr(model, f"{kind}_ids_") is not None:
        return text
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{kind} {text!r}: this model was fitted on 0-based indices; give a whole number") from None


def _title(model, index: int) -> str:
    return "" if model.item_titles_ is None else f" ({model.item_titles_[index]})"


def _recommend(args) -> int:
    model = _load(args.model)
    ranking = model.recommend(_id(model, args.user, "user"), n=args.n, exclude_rated=not args.include_rated)
    columns = "item, predicted rating" + (", title" if ranking.titles is not None else "")
    print(f"top {len(ranking)} for user {args.user} ({columns}):")
    print(ranking)
    return 0


def _similar(args) -> int:
    model = _load(args.model)
    item = _id(model, args.item, "item")
    ranking = model.similar_items(item, n=args.n, metric=args.metric)
    index = model.item_index(item)
    print(f"nearest to item {args.item}{_title(model, index)} by {args.metric} similarity of the item factors:")
    print(ranking)
    return 0
