"""Evaluating rules: through durable-rules in the one pattern known to be safe, and in plain Python.

The durable-rules pattern (see durable-rules.md beside DESIGN.md), exactly:

* One engine host per process, built lazily on first use: never at import, never carried over a
  fork. A fork is detected by ``os.getpid()`` (and an at-fork hook); the child then builds a fresh host
  and never touches the parent's, whose C state and threads do not survive ``fork``.
* A ``durable.engine.Host`` subclass whose background loop does nothing: the default one runs timer
  threads that crash the process when contexts go away, and sometimes run actions on the wrong thread.
* Rulesets registered once per name, from a deep copy (registration mutates what it is given); a name
  never stands for two definitions.
* One pinned context id per ruleset, never deleted (deleting contexts crashes the engine).
* One lock around registering and posting; one event per evaluation.
* Actions only record which Casework rule fired, in a thread-local list; the decisions are built from
  the rule after ``post`` returns, and cases/ does the real work later. durable-rules swallows
  exceptions raised in actions, so a missing (or extra) record raises EngineError instead of passing
  silently.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from forms.conditions import ConditionError, evaluate
from rules.compile import CompiledRuleset, as_compiled
from rules.errors import EngineError
from rules.facts import normalize_facts
from rules.model import TRIGGERS, Evaluation, Rule, RuleSet, decisions_for

logger = logging.getLogger(__name__)

PINNED_SID = "casework"
"""The one context id each ruleset uses; never deleted."""

ENGINE_ERRORS: Mapping[int, str] = {
    1: "no rule handled the event",
    102: "the ruleset has a value of an unexpected type",
    113: "a rule has too many groups of tests",
    204: "a value could not be read (numbers in exponent notation are not understood)",
    302: "the event has too many properties",
    303: "too many rules matched one event at once",
    501: "a pattern could not be read",
    503: "a pattern is too long",
}
"""What the engine's bare error codes mean, so an admin reads more than a number."""

_CODE_RE = re.compile(r"error code: (\d+)")


class Evaluator(Protocol):
    """Anything that evaluates a ruleset for one trigger and a case's facts (first match wins)."""

    def evaluate(self, ruleset: CompiledRuleset | RuleSet, trigger: str, facts: Mapping[str, Any]) -> Evaluation:
        """The rule that fires (if any) and its decisions; raises EngineError when evaluation fails."""
        ...


# --- the one host of this process ------------------------------------------------------------------

_local = threading.local()


def _record(action_name: str, event_id: Any) -> None:
    """What every engine action does: note which rule fired on which event, for the thread that is posting."""
    fired = getattr(_local, "fired", None)
    if fired is not None:
        fired.append((action_name, event_id))


def _event_id(c: Any) -> Any:
    """The id of the event an action runs for (``c.m`` is the matched event of a one-event rule)."""
    try:
        return c.m["id"]
    except Exception:  # an unexpected closure shape: the caller sees a missing id and refuses the outcome
        return None


def _explain(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc)
    match = _CODE_RE.search(text)
    if match and int(match.group(1)) in ENGINE_ERRORS:
        return f"{text} ({ENGINE_ERRORS[int(match.group(1))]})"
    return text


def _make_host() -> Any:
    from durable import engine as durable_engine

    class QuietHost(durable_engine.Host):
        """A host whose background loop does nothing: no timer threads, no actions on other threads."""

        def _run(self) -> None:
            return None

        def get_action(self, action_name: str) -> Callable[[Any], None]:
            def action(c: Any) -> None:  # exactly one parameter, as durable-rules requires
                _record(action_name, _event_id(c))

            return action

        def load_ruleset(self, ruleset_name: str) -> Any:
            raise EngineError(f"Ruleset {ruleset_name!r} is not loaded in this process.", ruleset=ruleset_name)

    return QuietHost()


class _Engine:
    """The process's durable-rules host with its lock, registrations and event ids."""

    def __init__(self) -> None:
        from durable import engine as durable_engine

        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.host = _make_host()
        self.fingerprints: dict[str, str] = {}
        self.event_ids = itertools.count(1)
        self.not_handled: type[BaseException] = durable_engine.MessageNotHandledException

    @staticmethod
    def host_name(compiled: CompiledRuleset) -> str:
        """The name registered with durable-rules: the ruleset's name plus its fingerprint.

        `<case-type>@v<N>` names one definition within one database, but a process can meet the same name
        with another definition (a second installation, a test suite, a restored backup); the host keeps
        both apart, since durable-rules can neither replace nor unregister a ruleset.
        """
        return f"{compiled.name}#{compiled.fingerprint[:16]}"

    def _ensure(self, compiled: CompiledRuleset) -> str:
        name = self.host_name(compiled)
        if name in self.fingerprints:
            return name
        try:
            self.host.register_rulesets({name: copy.deepcopy(dict(compiled.definition))})
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"The rules engine refused the ruleset: {_explain(exc)}", ruleset=compiled.name) from exc
        self.fingerprints[name] = compiled.fingerprint
        return name

    def load(self, compiled: CompiledRuleset) -> None:
        """Register a ruleset now (at publish time, say) rather than on its first evaluation."""
        with self.lock:
            self._ensure(compiled)

    def post(self, compiled: CompiledRuleset, event: Mapping[str, Any]) -> list[str]:
        """Post one event to the pinned context; the names of the actions that ran for it.

        Each action reports the id of the event it ran for: an action left over from an earlier event (the
        engine abandons an action whose callback comes more than 10 s after it started) is refused, never
        taken for this event's outcome.
        """
        with self.lock:
            host_name = self._ensure(compiled)
            message = dict(event)
            message["sid"] = PINNED_SID
            message["id"] = event_id = next(self.event_ids)
            fired: list[tuple[str, Any]] = []
            _local.fired = fired
            try:
                self.host.post(host_name, message)
            except EngineError:
                raise
            except self.not_handled as exc:
                raise EngineError(f"No rule handled the event: {_explain(exc)}", ruleset=compiled.name) from exc
            except Exception as exc:
                raise EngineError(f"The rules engine failed: {_explain(exc)}", ruleset=compiled.name) from exc
            finally:
                _local.fired = None
        strays = [name for name, fired_for in fired if fired_for != event_id]
        if strays:
            raise EngineError(f"The rules engine ran {', '.join(strays)} for another event than the one posted; "
                              "no decision is trusted.", ruleset=compiled.name)
        return [name for name, _ in fired]


_engine: _Engine | None = None
_build_lock = threading.Lock()


def _forget_after_fork() -> None:
    """In a forked child: drop the parent's host (never touch it) and a lock another thread may hold."""
    global _engine, _build_lock
    _engine = None
    _build_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def engine() -> _Engine:
    """The process's engine, built on first use (and again in a forked child)."""
    global _engine
    current = _engine
    if current is not None and current.pid == os.getpid():
        return current
    with _build_lock:
        if _engine is not None and _engine.pid != os.getpid():
            logger.warning("rules engine host was built in process %s before a fork; building a fresh one in %s",
                           _engine.pid, os.getpid())
            _engine = None
        if _engine is None:
            _engine = _Engine()
            logger.info("rules engine host built in process %s", _engine.pid)
        return _engine


def engine_built() -> bool:
    """Whether this process has built its engine host yet (it never is at import)."""
    return _engine is not None and _engine.pid == os.getpid()


# --- evaluators ------------------------------------------------------------------------------------


def _check_trigger(trigger: str, compiled: CompiledRuleset) -> None:
    if trigger not in TRIGGERS:
        raise EngineError(f"Unknown trigger {trigger!r}; expected one of {', '.join(TRIGGERS)}.",
                          ruleset=compiled.name)


def _result(compiled: CompiledRuleset, trigger: str, rule: Rule | None) -> Evaluation:
    if rule is None:
        return Evaluation(trigger, None, None, compiled.name, compiled.version, ())
    return Evaluation(trigger, rule.id, rule.name, compiled.name, compiled.version, decisions_for(rule))


class DurableEvaluator:
    """Evaluates through durable-rules (the production path), in the safe pattern of this module."""

    def load(self, ruleset: CompiledRuleset) -> None:
        """Register a compiled ruleset ahead of its first evaluation."""
        engine().load(ruleset)

    def evaluate(self, ruleset: CompiledRuleset | RuleSet, trigger: str, facts: Mapping[str, Any]) -> Evaluation:
        """The first matching rule of the trigger and its decisions; EngineError when anything is off."""
        compiled = as_compiled(ruleset)
        _check_trigger(trigger, compiled)
        event = compiled.encoder.event(trigger, facts)
        fired = engine().post(compiled, event)
        if len(fired) != 1:
            raise EngineError(
                f"The rules engine recorded {len(fired)} outcomes for one event (expected exactly one); an action "
                "may have failed inside the engine, so no decision is trusted.",
                ruleset=compiled.name,
            )
        if fired[0] not in compiled.actions:
            raise EngineError(f"The rules engine ran an unknown action {fired[0]!r}.", ruleset=compiled.name)
        rule_id = compiled.actions[fired[0]]
        if rule_id is None:
            return _result(compiled, trigger, None)
        rule = compiled.ruleset.rule(rule_id)
        if rule.trigger != trigger or not rule.enabled:
            raise EngineError(f"The rules engine fired rule {rule_id!r}, which does not apply to {trigger}.",
                              ruleset=compiled.name, rule_id=rule_id)
        return _result(compiled, trigger, rule)


class ReferenceEvaluator:
    """Plain Python over ``forms.conditions.evaluate``, first match wins: the yardstick durable-rules is held to."""

    def evaluate(self, ruleset: CompiledRuleset | RuleSet, trigger: str, facts: Mapping[str, Any]) -> Evaluation:
        """The first matching rule of the trigger and its decisions; EngineError when a condition fails."""
        compiled = as_compiled(ruleset)
        _check_trigger(trigger, compiled)
        values = normalize_facts(compiled.families, facts)
        for rule in compiled.ruleset.for_trigger(trigger):
            try:
                matched = evaluate(rule.parsed, values, compiled.families)
            except ConditionError as exc:
                raise EngineError(f"Rule {rule.name!r} could not be evaluated: {exc}", ruleset=compiled.name,
                                  rule_id=rule.id) from exc
            if matched:
                return _result(compiled, trigger, rule)
        return _result(compiled, trigger, None)


__all__ = ["DurableEvaluator", "Evaluator", "ReferenceEvaluator", "engine_built"]
