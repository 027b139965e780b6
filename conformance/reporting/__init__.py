"""Reporting: what a run leaves behind for people (terminal summary, HTML) and machines (JUnit, Allure)."""
