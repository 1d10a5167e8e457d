from callcenter.events.testing import assert_migrations_round_trip


def test_analytics_migrations_go_up_and_down(database_url):
    assert_migrations_round_trip("callcenter.analytics", database_url)
