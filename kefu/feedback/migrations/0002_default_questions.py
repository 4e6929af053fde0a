"""The default survey (DESIGN §1): attitude, speed, solution and overall on 1–5, NPS 0–10, a comment."""

from django.db import migrations

QUESTIONS = [
    ("attitude", "score", "How friendly and helpful was our staff?", "您对客服人员的服务态度是否满意？", True),
    ("speed", "score", "How satisfied are you with the speed of our response?", "您对我们的响应速度是否满意？", True),
    ("solution", "score", "How well was your problem solved?", "您对问题的解决结果是否满意？", True),
    ("overall", "score", "Overall, how satisfied are you with our service?", "总体而言，您对本次服务是否满意？", True),
    ("nps", "nps", "How likely are you to recommend us to a friend or colleague?",
     "您有多大可能将我们推荐给朋友或同事？", True),
    ("comment", "comment", "Anything else you would like to tell us?", "您还有其他意见或建议吗？", False),
]


def add_questions(apps, schema_editor):
    question = apps.get_model("feedback", "SurveyQuestion")
    for position, (key, kind, text_en, text_zh, required) in enumerate(QUESTIONS):
        question.objects.get_or_create(key=key, defaults={
            "kind": kind, "text_en": text_en, "text_zh": text_zh, "required": required, "position": position})


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]
    operations = [migrations.RunPython(add_questions, migrations.RunPython.noop)]
