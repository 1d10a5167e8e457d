from callcenter.events.testing import assert_migrations_round_trip


def test_crm_migrations_go_up_and_down(database_url):
    assert_migrations_round_trip("callcenter.crm", database_url)
