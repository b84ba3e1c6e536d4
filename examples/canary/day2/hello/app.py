"""The hello function, day 2: the team now answers with a thumbs-up."""


def handler(event, context):
    return "ThumbsUp"
