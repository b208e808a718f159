"""Messages get their room's sequence number (issue 22): rows stored before have their id, below every new number."""

from django.db import migrations, models

import echo.models


def number_by_id(apps, schema_editor):
    Message = apps.get_model("echo", "Message")
    Message.objects.update(seq=models.F("id"))


class Migration(migrations.Migration):
    dependencies = [("echo", "0001_initial")]

    operations = [
        migrations.AddField(model_name="message", name="seq", field=models.BigIntegerField(null=True)),
        migrations.RunPython(number_by_id, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message", name="seq", field=models.BigIntegerField(default=echo.models.now_in_microseconds)
        ),
        migrations.RemoveIndex(model_name="message", name="echo_message_room_id"),
        migrations.AddIndex(
            model_name="message", index=models.Index(fields=["room", "seq"], name="echo_message_room_seq")
        ),
    ]
