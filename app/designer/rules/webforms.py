"""The rule designer's FlaskForms: a rule's settings, a new rule, and the back-test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from cases.rule_backtest import DEFAULT_BACKTEST, MAX_BACKTEST
from rules import TRIGGERS
from rules import editing as rule_editing
from rules.validate import MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS

TRIGGER_CHOICES = [SelectChoice(key, f"When {phrase}") for key, phrase in TRIGGERS.items()]


class RuleSettingsForm(FlaskForm):
    """A rule's name, trigger, on/off and description; the draft revision makes a stale page a clear 409."""

    expected_revision = IntegerField("Draft revision", widget=HiddenInput(), validators=[InputRequired()])
    name = StringField("Name", validators=[DataRequired("Enter a name for the rule."), Length(max=MAX_NAME_CHARS)],
                       description="What the rule is for, e.g. “Large invoices need the CFO”.")
    trigger = SelectField("Runs", choices=TRIGGER_CHOICES, validators=[DataRequired()],
                          description="Each time this happens, the first matching rule of the trigger fires.")
    enabled = BooleanField("On (a rule that is off never fires, but is kept)")
    description = TextAreaField("Notes", validators=[Optional(), Length(max=MAX_DESCRIPTION_CHARS)],
                                description="Why the rule exists; only designers see it.")


class NewRuleForm(FlaskForm):
    expected_revision = IntegerField("Draft revision", widget=HiddenInput(), validators=[InputRequired()])
    name = StringField("Name", validators=[DataRequired("Enter a name for the rule."), Length(max=MAX_NAME_CHARS)],
                       description="E.g. “Large invoices need the CFO”. Its condition and actions come next.")
    trigger = SelectField("Runs", choices=TRIGGER_CHOICES, default="case.submitted", validators=[DataRequired()])


class BacktestForm(FlaskForm):
    limit = IntegerField("Cases to try", default=DEFAULT_BACKTEST,
                         validators=[InputRequired("Enter how many cases to try."),
                                     NumberRange(1, MAX_BACKTEST, f"Enter a number from 1 to {MAX_BACKTEST}.")],
                         description=f"The most recently filed cases of this type, at most {MAX_BACKTEST:,}.")
    trigger = SelectField("Trigger", choices=TRIGGER_CHOICES, default="case.submitted", validators=[DataRequired()])


def settings_form(rule: Mapping[str, Any], revision: int, *, submitted: bool = False) -> RuleSettingsForm:
    if submitted:
        return RuleSettingsForm(prefix="rs")
    return RuleSettingsForm(prefix="rs", formdata=None, data={
        "expected_revision": revision, "name": rule.get("name") if isinstance(rule.get("name"), str) else "",
        "trigger": rule.get("trigger") if rule.get("trigger") in TRIGGERS else "case.submitted",
        "enabled": rule.get("enabled", True) is not False,
        "description": rule.get("description") if isinstance(rule.get("description"), str) else ""})


def new_rule_form(revision: int, *, submitted: bool = False) -> NewRuleForm:
    if submitted:
        return NewRuleForm(prefix="nr")
    return NewRuleForm(prefix="nr", formdata=None, data={"expected_revision": revision, "name": "",
                                                          "trigger": "case.submitted"})


def backtest_form(*, submitted: bool = False) -> BacktestForm:
    if submitted:
        return BacktestForm(prefix="bt")
    return BacktestForm(prefix="bt", formdata=None, data={"limit": DEFAULT_BACKTEST, "trigger": "case.submitted"})


def rule_input(form: RuleSettingsForm | NewRuleForm) -> rule_editing.RuleInput:
    enabled = bool(form.enabled.data) if isinstance(form, RuleSettingsForm) else True
    description = (form.description.data or "") if isinstance(form, RuleSettingsForm) else ""
    return rule_editing.RuleInput(name=form.name.data or "", trigger=form.trigger.data or "",
                                  enabled=enabled, description=description)
