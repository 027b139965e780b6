"""Callbacks: NHS Notify calling the supplier back, and a command that proves a supplier's receiver.

``notify-conformance callbacks --receiver-url URL`` acts as NHS Notify towards the supplier's endpoint: it
sends signed message-status and channel-status callbacks exactly as the sender does (behaviour §5,
ops §1.1) and judges each answer by what the contract documents and what the sender does with it
(ops §1.3). The layers are the suite's:

* :mod:`.schema` reads the callback schemas, enums and examples from the contract;
* :mod:`.payloads` builds callback bodies and serialises them as the sender does;
* :mod:`.strategies` generates bodies from those schemas (hypothesis);
* :mod:`.signing` computes the signature;
* :mod:`.deliveries` says what one callback is and what happened when it was sent;
* :mod:`.plan` is the list of checks: what each sends and expects;
* :mod:`.rules` and :mod:`.checks` are the pure judgements, with stable codes (``CB-...``);
* :mod:`.sender` sends one callback (httpx, only to the URLs given), :mod:`.runner` runs the plan
  (pacing, the callback budget, 429s, a receiver that stops answering);
* :mod:`.report` is the summary table, the verdict and the written reports; :mod:`.command` the command.
* :mod:`.area` sends the same plan, one check per test, as the ``callbacks`` area of ``run``.

Nothing here imports the reference receiver (:mod:`conformance.reference.receiver`), and it imports
nothing of this package, so a mistake on one side is caught by the other.
"""
