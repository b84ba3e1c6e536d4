"""The hello function of the Day-2 scenarios: its code never changes, only the templates do."""


def handler(event, context):
    return "Approved"
