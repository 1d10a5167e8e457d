"""Analytics: kPIs folded from every topic, the live wallboard and Erlang C staffing."""
