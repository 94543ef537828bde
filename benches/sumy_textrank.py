#!/usr/bin/env python3
"""Throughput of sumy's TextRank on the BBC archive, one process, same
protocol as benches/extractive.rs (40% of each article's sentences, rounded,
at least 1). Prints articles/s; skips when ../shared is absent.

Sentences are split with nupunkt, as for the reference figures in
shared/tools/README.md (sumy's default NLTK punkt_tab data is not installed).

Usage: python benches/sumy_textrank.py [ARCHIVE.jsonl]
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "shared", "data", "archive", "bbc-2225.jsonl")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    if not os.path.exists(path):
        print(f"skipping sumy bench: {path} not found")
        return 0
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

    articles = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    tokenizer = NupunktTokenizer("english")
    summarizer = TextRankSummarizer(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")

    start = time.perf_counter()
    cpu_start = time.process_time()
    picked = 0
    for a in articles:
        doc = PlaintextParser.from_string(a["body"], tokenizer).document
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
    sys.exit(main())
