"""Template helpers: URLs kept per worker stay right for each request's root."""

from flask import render_template_string

LINKS = "{{ url_for('static', filename='css/casework.css') }} {{ url_for('reports.case_list', _external=True) }}"


def test_page_links_follow_the_host_and_root_each_request_came_with(app):
    pages = []
    for base_url in ("http://cases.example.edu/", "https://other.example.edu/casework/", "http://cases.example.edu/"):
        with app.test_request_context("/", base_url=base_url):
            pages.append(render_template_string(LINKS))
    assert pages == [
        "/static/css/casework.css http://cases.example.edu/cases/all",
        "/casework/static/css/casework.css https://other.example.edu/casework/cases/all",
        "/static/css/casework.css http://cases.example.edu/cases/all",
    ]


def test_a_link_with_a_list_of_values_is_still_built(app):
    with app.test_request_context("/"):
        assert render_template_string("{{ url_for('reports.case_list', state=['open', 'closed']) }}") == (
            "/cases/all?state=open&amp;state=closed"
        )


def test_query_arguments_keep_the_order_they_were_given_in(app):
    with app.test_request_context("/"):
        first = render_template_string("{{ url_for('cases.queue', queue='new', after='x') }}")
        second = render_template_string("{{ url_for('cases.queue', after='x', queue='new') }}")
    assert (first, second) == ("/cases/?queue=new&amp;after=x", "/cases/?after=x&amp;queue=new")


def test_a_flag_and_a_number_of_the_same_value_give_their_own_links(app):
    with app.test_request_context("/"):
        links = render_template_string("{{ url_for('cases.queue', x=1) }} {{ url_for('cases.queue', x=True) }}")
    assert links == "/cases/?x=1 /cases/?x=True"
