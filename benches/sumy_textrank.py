#!/usr/bin/env python3
"""sumy's TextRank, the peer of newsgist's extractive summaries, in two modes.

Throughput (default): the BBC archive in one process, same protocol as benches/extractive.rs
(40% of each article's sentences, rounded, at least 1); prints articles/s; skips when
../shared is absent.

Batch (--batch IN OUT): a JSON Lines archive in, one JSON line per article out with its
3-sentence summary, as `newsgist batch --outputs extractive --sentences 3` does; for
benches/archive.sh, which times the whole process.

Sentences are split with nupunkt, as for the reference figures in shared/tools/README.md
(sumy's default NLTK punkt_tab data is not installed).

Usage: python benches/sumy_textrank.py [ARCHIVE.jsonl]
       python benches/sumy_textrank.py --batch IN.jsonl OUT.jsonl
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "shared", "data", "archive", "bbc-2225.jsonl")


def textrank():
    """sumy's TextRank parser and summariser with nupunkt sentences and Treebank words."""
    from sumy.nlp.stemmers import Stemmer
    from sumy.nlp.tokenizers import Tokenizer
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    import nltk
    import nupunkt

    class NupunktSentences:
        tokenize = staticmethod(nupunkt.sent_tokenize)

    class TreebankWords:
        # sumy's default calls nltk.word_tokenize, which re-splits sentences
        # with punkt_tab; sumy only passes it single sentences.
        @staticmethod
        def tokenize(sentence):
            return nltk.word_tokenize(sentence, preserve_line=True)

    class NupunktTokenizer(Tokenizer):
        def _get_sentence_tokenizer(self, language):
            return NupunktSentences()

        def _get_word_tokenizer(self, language):
            return TreebankWords()

    tokenizer = NupunktTokenizer("english")
    summarizer = TextRankSummarizer(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")

    def parse(text):
        return PlaintextParser.from_string(text, tokenizer).document

    return parse, summarizer


def batch(source, dest):
    parse, summarizer = textrank()
    with open(source, encoding="utf-8") as src, open(dest, "w", encoding="utf-8") as out:
        for line in src:
            if not line.strip():
                continue
            a = json.loads(line)
            picked = [str(s) for s in summarizer(parse(a["body"]), 3)]
            out.write(json.dumps({"id": a["id"], "extractive": {"text": "\n".join(picked)}}) + "\n")
    return 0


def throughput(path):
    if not os.path.exists(path):
        print(f"skipping sumy bench: {path} not found")
        return 0
    parse, summarizer = textrank()
    articles = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    start = time.perf_counter()
    cpu_start = time.process_time()
    picked = 0
    for a in articles:
        doc = parse(a["body"])
        k = max(1, round(0.4 * len(doc.sentences)))
        picked += len(summarizer(doc, k))
    secs = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(
        f"sumy TextRank: {len(articles)} articles, {secs:.2f} s, "
        f"{len(articles) / secs:.0f} articles/s, {len(articles) / cpu:.0f} articles/CPU-s, "
        f"{picked / len(articles):.1f} sentences/summary"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--batch":
        sys.exit(batch(sys.argv[2], sys.argv[3]))
    sys.exit(throughput(sys.argv[1] if len(sys.argv) > 1 else DEFAULT))
