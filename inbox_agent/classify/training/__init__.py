"""Offline work on the classifier: the labelled corpus, training, evaluation, staff corrections.

The daemon never imports from here: it loads the model that ``inbox-agent model train`` wrote,
so a classification in production depends on the shipped model, not on the corpus.
"""
