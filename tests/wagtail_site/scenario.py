"""Do on the Wagtail site what an editor does, and report what is in its database.

    python -m tests.wagtail_site.scenario build    # migrate, upload an image, publish a page
    python -m tests.wagtail_site.scenario report   # the task rows and what Wagtail's tasks did

Each prints one JSON object on stdout. Run with DJANGO_SETTINGS_MODULE set to
``tests.wagtail_site.settings`` and DSQ_WAGTAIL_DIR naming the site's folder.
"""

import io
import json
import sys
from typing import Any

import django


def square_png() -> bytes:
    """A small PNG with sharp corners in it, for OpenCV's feature detection to find."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (240, 160), "white")
    draw = ImageDraw.Draw(picture)
    draw.rectangle((40, 30, 110, 100), fill="black")
    draw.rectangle((140, 60, 200, 130), fill="navy")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def upload_image(client: Any) -> Any:
    """Upload the PNG through the Wagtail admin's own upload view, as an editor would."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse
    from wagtail.images import get_image_model

    upload = SimpleUploadedFile("square.png", square_png(), content_type="image/png")
    response = client.post(reverse("wagtailimages:add"), {"title": "Square", "file": upload})
    if response.status_code != 302:
        raise RuntimeError(f"Image upload answered {response.status_code}, not a redirect.")
    return get_image_model().objects.get(title="Square")


def publish_page(image: Any, user: Any) -> Any:
    """Create a page under the root that shows *image*, and publish it."""
    from wagtail.models import Page

    from tests.wagtail_site.home.models import HomePage

    root = Page.get_first_root_node()
    page = root.add_child(
        instance=HomePage(title="Welcome", slug="welcome", hero=image, body="<p>Hello.</p>")
    )
    page.save_revision(user=user).publish(user=user)
    return page


def build() -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0, interactive=False)
    user = get_user_model().objects.create_superuser("editor", "editor@example.com", "pass")
    client = Client()
    client.force_login(user)
    image = upload_image(client)
    page = publish_page(image, user)
    return {"image": image.pk, "page": page.pk}


def report() -> dict[str, Any]:
    from wagtail.images import get_image_model
    from wagtail.models import ReferenceIndex
    from wagtail.search.models import IndexEntry

    from django_simple_queue.models import Task
    from tests.wagtail_site.home.models import HomePage

    page = HomePage.objects.get(slug="welcome")
    image = get_image_model().objects.get(title="Square")
    return {
        "tasks": [
            {
                "name": row.task_name,
                "args": row.args,
                "status": row.status,
                "error": row.error,
            }
            for row in Task.objects.order_by("created_at", "id")
        ],
        "page": {"id": page.pk, "live": page.live, "hero": page.hero_id},
        "image": {
            "id": image.pk,
            "focal_point": [
                image.focal_point_x,
                image.focal_point_y,
                image.focal_point_width,
                image.focal_point_height,
            ],
        },
        # Rows the reference index holds: which object refers to which.
        "references": sorted(
            [ref.model_path, ref.base_content_type.model, ref.to_content_type.model]
            for ref in ReferenceIndex.objects.select_related(
                "base_content_type", "to_content_type"
            )
        ),
        # Objects the search index holds, by model.
        "search_index": sorted(
            [entry.content_type.model, entry.object_id]
            for entry in IndexEntry.objects.select_related("content_type")
        ),
    }


def main(argv: list[str]) -> int:
    actions = {"build": build, "report": report}
    if len(argv) != 1 or argv[0] not in actions:
        print(f"usage: python -m tests.wagtail_site.scenario {'|'.join(actions)}", file=sys.stderr)
        return 2
    django.setup()
    print(json.dumps(actions[argv[0]](), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
