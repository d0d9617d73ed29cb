"""The regulator workstation: Qt glue on top of the Qt-free models and devices."""

APP_NAME = "evmetrology-workstation"
ORG_NAME = "evmetrology"
