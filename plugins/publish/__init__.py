"""Publishers: attach the written reports to a review ticket."""
