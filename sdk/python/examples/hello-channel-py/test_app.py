"""The example's logic, tested with plain CPython against the bindings
`componentize-py bindings` generates (host calls are not made here)."""

import unittest

import app


class TicketFor(unittest.TestCase):
    def test_a_title_makes_a_ticket_with_its_contact(self):
        t = app.ticket_for({"title_prefix": "[py] "}, b'{"title": " Help ", "email": "ann@example.com"}')
        self.assertEqual(t.title, "[py] Help")
        self.assertEqual(t.contact.emails[0].address, "ann@example.com")

    def test_bad_bodies_say_what_is_wrong(self):
        for body, needle in [(b"{", "not JSON"), (b"[]", "JSON object"), (b'{"title": " "}', "title")]:
            with self.assertRaises(ValueError) as caught:
                app.ticket_for({}, body)
            self.assertIn(needle, str(caught.exception))


if __name__ == "__main__":
    unittest.main()
