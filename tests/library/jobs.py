from django_simple_queue import frameworks

if frameworks.installed():
    task = frameworks.primary().package.task

    @task
    def triple(n):
        return 3 * n
