"""How well `adr_drug_mentions` finds drugs, and the drug of each ADR mention.

(a) Attribution, on Task 3 dev: each gold ADR span (its rows merged: a span about two drugs
    has a row for each) with the drugs of its rows. A span's tweet "names its drug" when one of
    those drugs occurs in the tweet as a word (case-insensitive, no letter before or after
    it): the drug column holds the keyword the tweet was collected by, a substring of the
    tweet, sometimes of another drug ("ofloxacin" of "#ciprofloxacin") or misspelt
    ("vanlafaxine"). The span's drug is found when the rule's drug is one of them, both
    normalised by the lexicon (a name the lexicon lacks: lowercased). Each rule of
    `spacy_adr.drug_attribution` is scored, and "any-mention" (some drug mention of the tweet
    is the right drug: the bound of every rule).
(b) Drug mentions, on CADEC's `Drug` entities (their extent, first to last fragment):
    strict (same offsets) and relaxed (overlap) P/R/F1. CADEC is one of the lexicon's
    sources, so its figure is measured on held-out posts (`is_heldout`: a fifth of the posts,
    by a hash of the name) with a lexicon built without them, and on all posts with lexicons
    that never saw CADEC (Task 3 only; Task 3 and WebMD; Task 3 and the open drug dictionary,
    whose names then go unchecked against CADEC's annotations).
"""
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from spacy.language import Language

from spacy_adr.drug_attribution import DEFAULT_RULE, RULES, Mention
from spacy_adr.errors import ConversionReport
from spacy_adr.kb.drugs import DrugLexicon
from spacy_adr.pipeline.drug_mentions import DrugMentions
from spacy_adr.kb.lexicon import normalize_term
from spacy_adr.scoring import score_spans
from ..corpora.drug_names import CadecPost, DrugSources, read_task3_drug_rows
from ..training.drug_lexicon import build_drug_lexicon

ANY_MENTION = "any-mention"
# Posts held out of the lexicon when it is scored on CADEC: one in HOLDOUT_MODULUS.
HOLDOUT_MODULUS = 5


@dataclass(frozen=True)
class GoldTweet:
    """A Task 3 tweet with its ADR spans and the drugs of each.

    text (str): The raw tweet field.
    spans (Tuple[Tuple[Tuple[int, int], Tuple[str, ...]], ...]): ((start, end), drugs as
        written) per distinct span, in file order.
    """

    text: str
    spans: Tuple[Tuple[Tuple[int, int], Tuple[str, ...]], ...]


def read_gold_tweets(path: Union[str, Path], report: ConversionReport) -> List[GoldTweet]:
    """The tweets of a Task 3 file that have ADR spans, each span with the drugs of its rows.

    path (Union[str, Path]): task3_validation.tsv.
    report (ConversionReport): Receives counts and problems.
    RETURNS (List[GoldTweet]): The tweets, in order of first appearance.
    """
    texts: Dict[str, str] = {}
    spans: Dict[str, Dict[Tuple[int, int], List[str]]] = {}
    for row in read_task3_drug_rows(path, report):
        if row.span is None:
            continue
        texts.setdefault(row.tweet_id, row.tweet)
        drugs = spans.setdefault(row.tweet_id, {}).setdefault(row.span, [])
        if row.drug and row.drug not in drugs:
            drugs.append(row.drug)
    return [
        GoldTweet(texts[tweet_id], tuple((span, tuple(drugs)) for span, drugs in by_span.items()))
        for tweet_id, by_span in spans.items()
    ]


def evaluate_attribution(
    tweets: Sequence[GoldTweet], lexicon: DrugLexicon, nlp: Language, *, rules: Sequence[str] = tuple(RULES)
) -> List[Dict[str, Any]]:
    """Score the attribution rules (see the module docstring, (a)).

    tweets (Sequence[GoldTweet]): Task 3 dev's tweets with ADR spans.
    lexicon (DrugLexicon): The drug lexicon.
    nlp (Language): Pipeline whose tokenizer makes the Docs (the tweet tokenizer).
    rules (Sequence[str]): Rules of `spacy_adr.drug_attribution.RULES`.
    RETURNS (List[Dict[str, Any]]): One row per rule, then "any-mention": variant, found
        (share of the spans whose tweet names their drug that got it), n (those spans),
        found_all and n_all (every span with a drug), found_known and n_known (the spans of n
        whose drug the lexicon holds), no_drug and wrong_drug (shares of n that got none, or
        another drug), chosen (the component's default rule).
    """
    matcher = DrugMentions(rule=DEFAULT_RULE)
    matcher.set_lexicon(lexicon)
    tally = {variant: {"found": 0, "found_all": 0, "found_known": 0, "no_drug": 0} for variant in [*rules, ANY_MENTION]}
    n = n_all = n_known = 0
    for tweet in tweets:
        doc = nlp.make_doc(tweet.text)
        mentions: List[Mention] = matcher.find_offsets(doc)
        lowered = tweet.text.lower()
        for offsets, drugs in tweet.spans:
            if not drugs:
                continue
            gold = {lexicon.drug_of(drug) or normalize_term(drug) for drug in drugs}
            named = any(_names_as_word(lowered, drug) for drug in drugs)
            known = named and any(drug in lexicon for drug in drugs)
            n_all += 1
            n += named
            n_known += known
            predictions = {rule: RULES[rule](offsets, mentions) for rule in rules}
            hit_any = any(mention[2] in gold for mention in mentions)
            for variant, hit, none in [
                *((rule, pred in gold, pred is None) for rule, pred in predictions.items()),
                (ANY_MENTION, hit_any, not mentions),
            ]:
                tally[variant]["found_all"] += hit
                if named:
                    tally[variant]["found"] += hit
                    tally[variant]["no_drug"] += none
                    tally[variant]["found_known"] += known and hit
    rows = []
    for variant, counts in tally.items():
        rows.append({
            "variant": variant,
            "found": _share(counts["found"], n), "n": n,
            "found_all": _share(counts["found_all"], n_all), "n_all": n_all,
            "found_known": _share(counts["found_known"], n_known), "n_known": n_known,
            "no_drug": _share(counts["no_drug"], n),
            "wrong_drug": _share(n - counts["found"] - counts["no_drug"], n),
            "chosen": variant == DEFAULT_RULE,
        })
    return rows


def evaluate_drug_spans(posts: Sequence[CadecPost], lexicon: DrugLexicon) -> Dict[str, Any]:
    """Strict and relaxed P/R/F1 of the drug mentions on CADEC's `Drug` entities.

    posts (Sequence[CadecPost]): The posts scored.
    lexicon (DrugLexicon): The drug lexicon.
    RETURNS (Dict[str, Any]): strict_p/r/f, relaxed_p/r/f, n_pred, n_gold, n_docs.
    """
    matcher = DrugMentions()
    matcher.set_lexicon(lexicon)
    predicted = [[(start, end) for start, end, _ in matcher.find_offsets(post.doc)] for post in posts]
    gold = [[(drug.start, drug.end) for drug in post.drugs] for post in posts]
    return {**score_spans(predicted, gold), "n_docs": len(posts)}


def is_heldout(post_name: str) -> bool:
    """Whether a CADEC post is held out of the lexicon scored on CADEC (a stable fifth).

    post_name (str): The post, e.g. "LIPITOR.12".
    RETURNS (bool): The decision.
    """
    return zlib.crc32(post_name.encode("utf-8")) % HOLDOUT_MODULUS == 0


def evaluate_drugs(
    sources: DrugSources,
    lexicon: DrugLexicon,
    dev_path: Union[str, Path],
    nlp: Language,
    report: ConversionReport,
    *,
    min_annotated: Optional[float] = None,
) -> List[Dict[str, Any]]:
    """Both evaluations of the module docstring, as metrics rows (task "drugs").

    sources (DrugSources): The training data's drug names (the lexicons of (b) are built
        from them).
    lexicon (DrugLexicon): The project's lexicon, scored in (a).
    dev_path (Union[str, Path]): task3_validation.tsv.
    nlp (Language): Pipeline whose tokenizer makes the Docs (the tweet tokenizer).
    report (ConversionReport): Receives the Task 3 reader's counts and problems.
    min_annotated (Optional[float]): For the CADEC lexicons; None: the builder's default.
    RETURNS (List[Dict[str, Any]]): Rows with task, variant, split and the scores; the rows
        of (a) name their lexicon: "project", and, when the sources hold the open drug
        dictionary, "training data only" (the lexicon without it).
    """
    gold = read_gold_tweets(dev_path, report)
    rows = [
        {"task": "drugs", "split": "task3_dev", "lexicon": "project", "lexicon_names": len(lexicon), **row}
        for row in evaluate_attribution(gold, lexicon, nlp)
    ]
    options: Dict[str, Any] = {"ambiguous": sources.ambiguous}
    if min_annotated is not None:
        options["min_annotated"] = min_annotated
    if sources.dictionary is not None:
        # The same rules with the training data's names alone: what the dictionary changes.
        own, _ = build_drug_lexicon(task3=sources.task3, cadec=sources.cadec, webmd=sources.webmd, **options)
        rows.extend(
            {"task": "drugs", "split": "task3_dev", "lexicon": "training data only", "lexicon_names": len(own), **row}
            for row in evaluate_attribution(gold, own, nlp)
        )
    if sources.cadec:
        seen = [post for post in sources.cadec if not is_heldout(post.name)]
        heldout = [post for post in sources.cadec if is_heldout(post.name)]
        variants: List[Tuple[str, str, DrugLexicon, List[CadecPost]]] = []
        if sources.webmd is not None and sources.dictionary is not None:
            everything, _ = build_drug_lexicon(
                task3=sources.task3, cadec=seen, webmd=sources.webmd, dictionary=sources.dictionary, **options
            )
            variants.append(("task3+cadec-seen+webmd+dictionary", "cadec_heldout", everything, heldout))
        if sources.webmd is not None:
            with_cadec, _ = build_drug_lexicon(task3=sources.task3, cadec=seen, webmd=sources.webmd, **options)
            variants.append(("task3+cadec-seen+webmd", "cadec_heldout", with_cadec, heldout))
        with_cadec_only, _ = build_drug_lexicon(task3=sources.task3, cadec=seen, **options)
        variants.append(("task3+cadec-seen", "cadec_heldout", with_cadec_only, heldout))
        task3_only, _ = build_drug_lexicon(task3=sources.task3, **options)
        variants.append(("task3", "cadec_all", task3_only, sources.cadec))
        if sources.webmd is not None:
            task3_webmd, _ = build_drug_lexicon(task3=sources.task3, webmd=sources.webmd, **options)
            variants.append(("task3+webmd", "cadec_all", task3_webmd, sources.cadec))
        if sources.dictionary is not None:
            task3_dictionary, _ = build_drug_lexicon(task3=sources.task3, dictionary=sources.dictionary, **options)
            variants.append(("task3+dictionary", "cadec_all", task3_dictionary, sources.cadec))
        for variant, split, variant_lexicon, posts in variants:
            rows.append({
                "task": "drugs", "variant": f"lexicon {variant}", "split": split,
                "lexicon_names": len(variant_lexicon), **evaluate_drug_spans(posts, variant_lexicon),
            })
    return rows


def _names_as_word(text: str, drug: str) -> bool:
    # A letter is [^\W\d_]: a word character that is neither a digit nor "_".
    return re.search(rf"(?<![^\W\d_]){re.escape(drug.lower())}(?![^\W\d_])", text) is not None


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0

