from callcenter.events.testing import assert_migrations_round_trip


def test_ivr_migrations_go_up_and_down(database_url):
    assert_migrations_round_trip("callcenter.ivr", database_url)
