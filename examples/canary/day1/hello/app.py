"""The hello function, day 1: approves everything."""


def handler(event, context):
    return "Approved"
