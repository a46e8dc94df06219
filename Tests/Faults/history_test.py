#!/usr/bin/env python3
"""Checks of the history checker's own verdicts (run by history.sh before every history), so a
checker that could no longer see a lost, duplicated or diverging write fails instead of passing."""

import unittest

import history as h


def job(job_id, key, image="i"):
    return {"id": job_id, "idempotencyKey": key, "spec": {"labels": {h.LABEL: key}, "container": {"image": image}}}


class AuditTests(unittest.TestCase):
    def test_an_acknowledged_key_missing_on_one_member_is_lost(self):
        history = h.History()
        history.ack("k1", "j1")
        history.ack("k2", "j2")
        lost, duplicated, _ = h.audit(history, [[job("j1", "k1"), job("j2", "k2")], [job("j1", "k1")]], ["m1", "m2"])
        self.assertEqual(lost, {"k2"})
        self.assertEqual(duplicated, set())

    def test_a_key_stored_under_another_job_id_is_lost(self):
        history = h.History()
        history.ack("k1", "j1")
        lost, _, _ = h.audit(history, [[job("j7", "k1")]], ["m1"])
        self.assertEqual(lost, {"k1"})

    def test_two_jobs_for_one_key_or_two_ids_acknowledged_are_duplicates(self):
        history = h.History()
        history.ack("k1", "j1")
        history.ack("k2", "j2")
        history.ack("k2", "j3")
        _, duplicated, problems = h.audit(history, [[job("j1", "k1"), job("j4", "k1"), job("j2", "k2")]], ["m1"])
        self.assertEqual(duplicated, {"k1", "k2"})
        self.assertEqual(len(problems), 2)

    def test_a_clean_history_has_no_problem(self):
        history = h.History()
        history.ack("k1", "j1")
        self.assertEqual(h.audit(history, [[job("j1", "k1"), job("j5", "unacknowledged")]] * 3, ["m1", "m2", "m3"]),
                         (set(), set(), []))


class DifferTests(unittest.TestCase):
    def test_identical_lists_do_not_differ(self):
        self.assertIsNone(h.differ([[job("j1", "k1")], [job("j1", "k1")]], ["m1", "m2"]))

    def test_a_missing_or_changed_job_differs(self):
        self.assertIn("missing ['j2']", h.differ([[job("j1", "k1"), job("j2", "k2")], [job("j1", "k1")]], ["m1", "m2"]))
        self.assertIn("different ['j1']", h.differ([[job("j1", "k1")], [job("j1", "k1", image="x")]], ["m1", "m2"]))


class GapTests(unittest.TestCase):
    def test_the_longest_gap_counts_the_edges_of_the_window(self):
        history = h.History()
        history.ack_times = [10.0, 10.5, 13.0]
        self.assertEqual(history.longest_gap(9.0, 13.2), (2.5, 10.5))
        self.assertEqual(history.longest_gap(9.0, 20.0), (7.0, 13.0))
        self.assertEqual(history.longest_gap(0.0, 1.0), (1.0, 0.0))


if __name__ == "__main__":
    unittest.main()
