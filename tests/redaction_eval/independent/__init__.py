"""A second redaction evaluation, independent of the first one in `tests/redaction_eval`.

It shares no text sources, templates or screen code with that evaluation: its own word lists
and generators of personal data (no Faker), its own screen kinds (terminals `cat`-ing `.env`
files, private keys and HTTP transcripts in xterm and urxvt; Qt editors with config files,
mail, chat and key tables; light and dark themes; screens from 1280x800 to 2560x1440), and
a stricter score (every character of an item must be covered, not only most of its ink box).
Detector and OCR work is tuned on the first evaluation; this one measures how far that
generalises.

Two seed families (see `seeds`): a development family that anyone may run and that the CI
ratchet uses, and a held-out family that only `bench/redaction_independent.py --heldout`
runs, before a change to redaction is called done. Held-out figures never go into tests.
"""
